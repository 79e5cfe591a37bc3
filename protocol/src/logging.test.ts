import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, scrubUrlCredentials } from './logging.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'info', name: 'test' }, stream) };
}

test('credentials in URLs are scrubbed wherever they appear', () => {
  assert.equal(
    scrubUrlCredentials('rtsp://admin:s3cret@10.0.0.5:554/stream1'),
    'rtsp://***@10.0.0.5:554/stream1',
  );
  assert.equal(
    scrubUrlCredentials('mqtt://dev:pw@hub:1883 and rtsp://u@cam/x'),
    'mqtt://***@hub:1883 and rtsp://***@cam/x',
  );
  assert.equal(scrubUrlCredentials('rtsp://cam/x'), 'rtsp://cam/x');
});

test('log lines never carry secrets, RTSP passwords or embeddings', () => {
  const { lines, logger } = capture();
  const embedding = Array.from({ length: 512 }, (_, i) => i / 512);
  logger.info(
    { password: 'hunter2', camera: { url: 'rtsp://admin:s3cret@cam/1', token: 'tok-123' }, embedding },
    'opening rtsp://admin:s3cret@cam/1',
  );
  logger.info({ nested: { deeper: { vector: new Float32Array(512), template: 'AAAA' } } }, 'stored');
  logger.child({ component: 'camera' }).warn({ err: new Error('failed rtsp://u:p@cam') }, 'retry');
  const text = lines.join('');
  for (const secret of ['hunter2', 's3cret', 'tok-123', 'u:p@', '0.001953125'])
    assert.ok(!text.includes(secret), secret);
  assert.match(text, /rtsp:\/\/\*\*\*@cam\/1/);
  assert.match(text, /\[binary 2048 bytes\]/);
  assert.equal(lines.length, 3);
});
