import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  isTpError,
  ProtocolErrorCode,
  parseConfig,
  parseKey32,
  publicKeyFromBase64,
} from '@truepresence/protocol';
import { hubConfigSchema } from './config.ts';
import { HubErrorCode } from './errors.ts';
import { loadHubKeys } from './keys.ts';

test('hub keys are generated on first start into dataDir/keys (0600) and reused after', (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tp-hub-keys-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = parseConfig(hubConfigSchema, { dataDir }, 'test');
  const first = loadHubKeys(config, {});
  for (const file of ['hub-signing.pem', 'data.key', 'admin-api-token']) {
    assert.equal(statSync(join(dataDir, 'keys', file)).mode & 0o777, 0o600, file);
  }
  assert.equal(statSync(join(dataDir, 'keys')).mode & 0o777, 0o700);
  assert.equal(first.dataKey.byteLength, 32);
  assert.equal(first.signing.id, 'hub-1');
  publicKeyFromBase64(first.signingPublicKey);
  const again = loadHubKeys(config, {});
  assert.equal(again.signingPublicKey, first.signingPublicKey);
  assert.deepEqual(again.dataKey, first.dataKey);
  assert.equal(again.adminToken, first.adminToken);
  assert.equal(readFileSync(join(dataDir, 'keys', 'admin-api-token'), 'utf8').trim(), first.adminToken);
  assert.equal(first.metricsToken, null, 'no metrics token unless configured');

  chmodSync(join(dataDir, 'keys', 'data.key'), 0o644);
  assert.throws(
    () => loadHubKeys(config, {}),
    (e) => isTpError(e, ProtocolErrorCode.secretInsecure),
  );
});

test('configured keys are read from their secret references and checked', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-hub-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const key = randomBytes(32);
  writeFileSync(join(dir, 'data.hex'), key.toString('hex'), { mode: 0o600 });
  writeFileSync(join(dir, 'short'), 'abc', { mode: 0o600 });
  const config = (dataKey: string) =>
    parseConfig(
      hubConfigSchema,
      { dataDir: join(dir, 'data'), keys: { dataKey: { file: join(dir, dataKey) } } },
      'test',
    );
  assert.deepEqual(loadHubKeys(config('data.hex'), {}).dataKey, key);
  assert.throws(
    () => loadHubKeys(config('short'), {}),
    (e) => isTpError(e, HubErrorCode.keyInvalid),
  );
  assert.throws(
    () => loadHubKeys(config('missing'), {}),
    (e) => isTpError(e, ProtocolErrorCode.secretMissing),
  );
  assert.deepEqual(parseKey32(Buffer.from(key.toString('base64url')), 'k', HubErrorCode.keyInvalid), key);
  assert.deepEqual(parseKey32(Buffer.from(key.toString('base64')), 'k', HubErrorCode.keyInvalid), key);
  assert.deepEqual(parseKey32(key, 'k', HubErrorCode.keyInvalid), key);
});

test('the metrics token is read from its secret reference and must be long enough', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-hub-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'metrics'), 'm'.repeat(32), { mode: 0o600 });
  writeFileSync(join(dir, 'short'), 'abc', { mode: 0o600 });
  const config = (file: string) =>
    parseConfig(
      hubConfigSchema,
      { dataDir: join(dir, 'data'), metrics: { token: { file: join(dir, file) } } },
      'test',
    );
  assert.equal(loadHubKeys(config('metrics'), {}).metricsToken, 'm'.repeat(32));
  assert.throws(
    () => loadHubKeys(config('short'), {}),
    (e) => isTpError(e, HubErrorCode.keyInvalid),
  );
});
