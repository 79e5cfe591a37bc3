import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTpError, parseConfig } from '@truepresence/protocol';
import * as fc from 'fast-check';
import { backoffDelayMs } from './backoff.ts';
import { camerasConfigSchema } from './config.ts';

test('an RTSP camera gets the documented defaults', () => {
  const [camera] = parseConfig(
    camerasConfigSchema,
    [{ type: 'rtsp', id: 'door', url: 'rtsp://10.0.0.5/main' }],
    'test',
  );
  assert.deepEqual(camera, {
    type: 'rtsp',
    id: 'door',
    url: 'rtsp://10.0.0.5/main',
    transport: 'tcp',
    fps: 5,
    maxWidth: 1280,
    openTimeoutMs: 20_000,
    stallTimeoutMs: 10_000,
    backoff: { initialMs: 500, maxMs: 30_000 },
  });
});

test('a password inside the URL is refused, and the error does not repeat it', () => {
  const raw = [{ type: 'rtsp', id: 'door', url: 'rtsp://admin:hunter2@10.0.0.5/main' }];
  assert.throws(
    () => parseConfig(camerasConfigSchema, raw, 'agent.json'),
    (error) =>
      isTpError(error, 'TP_CONFIG_INVALID') &&
      /\[0\]\.url: .*credentials/.test(error.message) &&
      !error.message.includes('hunter2'),
  );
});

test('unknown keys, unknown types, other URL schemes and duplicate ids are refused with their key path', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[{ type: 'file', id: 'a', path: '/x.mp4', lopp: true }], /\[0\]: unknown key\(s\) "lopp"/],
    [[{ type: 'usb', id: 'a' }], /\[0\]\.type/],
    [[{ type: 'rtsp', id: 'a', url: 'http://10.0.0.5/main' }], /\[0\]\.url/],
    [[{ type: 'rtsp', id: 'a', url: 'rtsp://10.0.0.5/main', transport: 'sctp' }], /\[0\]\.transport/],
    [
      [
        { type: 'file', id: 'a', path: '/x.mp4' },
        { type: 'file', id: 'a', path: '/y.mp4' },
      ],
      /unique/,
    ],
  ];
  for (const [raw, expected] of cases) {
    assert.throws(() => parseConfig(camerasConfigSchema, raw, 'test'), expected);
  }
});

test('reconnect delays use full jitter under an exponential bound with a cap', async () => {
  const config = { initialMs: 100, maxMs: 5000 };
  assert.equal(
    backoffDelayMs(0, config, () => 0),
    0,
  );
  assert.equal(
    backoffDelayMs(0, config, () => 0.999),
    99,
  );
  assert.equal(
    backoffDelayMs(3, config, () => 0.5),
    400,
  );
  assert.equal(
    backoffDelayMs(1000, config, () => 0.5),
    2500,
  );
  await fc.assert(
    fc.property(fc.nat(100), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
      const delay = backoffDelayMs(attempt, config, () => r);
      return Number.isInteger(delay) && delay >= 0 && delay < Math.min(5000, 100 * 2 ** attempt);
    }),
  );
});
