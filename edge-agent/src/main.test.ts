// The truepresence-agent program through its bin: config validation, usage errors, check-camera, and a
// start that fails with the coded error of the part that could not start.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '@truepresence/protocol';
import { facePhotos, makeClip } from '../../test/helpers/clips.ts';
import { VectorCache } from './cache/vector-cache.ts';

const bin = join(import.meta.dirname, '..', 'bin', 'truepresence-agent.js');

function agent(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { PATH: process.env.PATH } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('truepresence-agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-agent-main-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const keys = {
    device: { file: join(dir, 'missing-device.key') },
    cache: { file: join(dir, 'missing-cache.key') },
    siteKeys: [{ id: 'k1', key: { file: join(dir, 'missing-site.key') } }],
    hubKeys: [{ id: 'hub-1', publicKey: 'AAAA' }],
  };
  const config = (extra: Record<string, unknown>) => {
    const path = join(dir, `agent-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      path,
      JSON.stringify({
        site: 'hq',
        device: 'door-1',
        keys,
        cameras: [{ type: 'file', id: 'front', path: join(dir, 'clip.mp4') }],
        ...extra,
      }),
    );
    return path;
  };

  it('--check-config accepts a valid file and names the key path of a wrong one (exit 2)', async () => {
    const ok = await agent(['--check-config', '--config', config({})]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /is valid/);
    const bad = await agent(['--check-config', '--config', config({ pipeline: { cameras: { back: {} } } })]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /TP_CONFIG_INVALID/);
    assert.match(bad.stderr, /pipeline\.cameras\.back: no camera "back"/);
  });

  it('--config-schema prints the JSON Schema of the config, every section described', async () => {
    const result = await agent(['--config-schema']);
    assert.equal(result.code, 0, result.stderr);
    const schema = JSON.parse(result.stdout) as {
      properties: Record<string, { description?: string }>;
      required: string[];
    };
    assert.deepEqual(schema.required.sort(), ['device', 'keys', 'site']);
    for (const section of ['cameras', 'pipeline', 'cache', 'outbox', 'link']) {
      assert.ok(schema.properties[section]?.description, `${section} is described`);
    }
  });

  it('usage errors exit 2 with TP_AGENT_USAGE', async () => {
    const none = await agent(['run']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /TP_AGENT_USAGE: --config FILE is required/);
    const extra = await agent(['frobnicate', '--config', 'x.json']);
    assert.equal(extra.code, 2);
    assert.match(extra.stderr, /TP_AGENT_USAGE: unexpected frobnicate/);
  });

  it('a start that cannot read its keys exits 1 with the coded error, naming no secret', async () => {
    const result = await agent(['run', '--config', config({})]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^TP_SECRET_MISSING: agent could not start: secret file .*missing-cache\.key/m,
    );
  });

  it('reset-cache empties a cache of another model pack; the agent can then open it', async () => {
    const keyFile = join(dir, 'cache.key');
    writeFileSync(keyFile, randomBytes(32).toString('base64url'), { mode: 0o600 });
    const cachePath = join(dir, 'reset.db');
    const logger = createLogger({ name: 'test', level: 'silent' });
    const open = (modelPack: string, create: boolean) =>
      VectorCache.open({
        config: { path: cachePath, pageCacheMiB: 8 },
        key: Buffer.from(readFileSync(keyFile, 'utf8'), 'base64url'),
        modelPack,
        create,
        logger,
      });
    const old = open('retired-pack@0.1', true);
    old.applyRosterChange({
      seq: 1,
      kind: 'enrol',
      personId: 'p1',
      templates: [{ id: 't1', vector: new Float32Array(512).fill(0.1) }],
    });
    old.close();
    const path = config({ keys: { ...keys, cache: { file: keyFile } }, cache: { path: cachePath } });

    const result = await agent(['reset-cache', '--config', path]);
    assert.equal(result.code, 0, result.stderr);
    const modelPack = /model pack (\S+)\)/.exec(result.stdout)?.[1];
    assert.ok(modelPack && modelPack !== 'retired-pack@0.1', result.stdout);
    const fresh = open(modelPack, false);
    assert.deepEqual(fresh.counts(), { people: 0, templates: 0 });
    assert.equal(fresh.appliedRosterSeq(), 0);
    fresh.close();

    const wrongKey = await agent(['reset-cache', '--config', config({})]);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stderr, /^TP_SECRET_MISSING: vector cache not reset/m);
  });

  it('check-camera passes a clip with a large sharp face and fails a camera that sends nothing (exit 3)', async () => {
    const clip = await makeClip({
      photo: facePhotos[5]!,
      out: join(dir, 'face.mp4'),
      width: 1280,
      height: 720,
      seconds: 2,
      from: { zoom: 3, x: 0.2, y: 0.45 },
    });
    const result = await agent(['check-camera', clip, '--seconds', '2']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /a usable face on [1-9]/);
    assert.match(result.stdout, /^OK: faces at this entrance are large and sharp enough$/m);
    const missing = await agent(['check-camera', join(dir, 'no-such.mp4'), '--seconds', '1']);
    assert.equal(missing.code, 3, missing.stdout);
    assert.match(missing.stdout, /TP_AGENT_CHECK_CAMERA_NO_FRAMES/);
  });
});
