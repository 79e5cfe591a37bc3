import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { isTpError, ProtocolErrorCode, parseConfig } from '@truepresence/protocol';
import { tempDir } from '../../test/hub/harness.ts';
import { hubConfigSchema } from './config.ts';

const run = promisify(execFile);
const main = join(import.meta.dirname, 'main.ts');

test('an empty config gives the embedded defaults: SQLite and the embedded broker under ./var/hub', () => {
  const config = parseConfig(hubConfigSchema, {}, 'test');
  assert.equal(config.dataDir, 'var/hub');
  assert.deepEqual(config.store, { type: 'sqlite', path: 'var/hub/hub.sqlite', busyTimeoutMs: 5000 });
  assert.deepEqual(config.broker, {
    type: 'embedded',
    host: '127.0.0.1',
    port: 1884,
    persistence: 'level',
    maxPayloadBytes: 4 * 1024 * 1024,
  });
  assert.deepEqual(config.http, { host: '127.0.0.1', port: 8080, trustProxy: false });
  assert.equal(config.enrolment.keepPhotos, false);
  assert.equal(config.keys.hubSigningKey, null);
});

test('every key is described, unknown keys and passwords in URLs are refused with the key path', () => {
  const undescribed: string[] = [];
  const walk = (schema: unknown, path: string) => {
    const def = (
      schema as {
        def?: { type?: string; innerType?: unknown; shape?: Record<string, unknown>; options?: unknown[] };
      }
    ).def;
    if (!def) return;
    if (def.innerType) return walk(def.innerType, path);
    if (def.options) for (const option of def.options) walk(option, path);
    if (def.shape) {
      for (const [key, child] of Object.entries(def.shape)) {
        if (!(child as { description?: string }).description) undescribed.push(`${path}${key}`);
        walk(child, `${path}${key}.`);
      }
    }
  };
  walk(hubConfigSchema, '');
  assert.deepEqual(undescribed, []);
  assert.throws(
    () => parseConfig(hubConfigSchema, { brokr: {}, http: { port: 'x' } }, 'hub.json'),
    (e) =>
      isTpError(e, ProtocolErrorCode.configInvalid) &&
      /brokr/.test(e.message) &&
      /http\.port/.test(e.message),
  );
  assert.throws(
    () =>
      parseConfig(
        hubConfigSchema,
        { broker: { type: 'external', url: 'mqtt://hub:secret@broker:1883' } },
        'hub.json',
      ),
    (e) =>
      isTpError(e, ProtocolErrorCode.configInvalid) &&
      /broker\.url/.test(e.message) &&
      !e.message.includes('secret'),
  );
});

test('main --check-config validates a file and exits without starting anything', async (t) => {
  const dir = tempDir();
  t.after(() => dir.dispose());
  const good = join(dir.path, 'good.json');
  const bad = join(dir.path, 'bad.json');
  writeFileSync(good, JSON.stringify({ broker: { type: 'external' }, store: { type: 'postgres' } }));
  writeFileSync(bad, JSON.stringify({ store: { type: 'sqlite', pth: 'x' } }));
  const ok = await run(process.execPath, ['--import', 'tsx', main, '--config', good, '--check-config']);
  assert.match(ok.stdout, /is valid/);
  await assert.rejects(
    run(process.execPath, ['--import', 'tsx', main, '--config', bad, '--check-config']),
    (error: { code?: number; stderr?: string }) => {
      assert.equal(error.code, 2);
      assert.match(
        error.stderr ?? '',
        /TP_CONFIG_INVALID: invalid config in .*bad\.json:\n {2}store: unknown key\(s\) "pth"/,
      );
      return true;
    },
  );
});
