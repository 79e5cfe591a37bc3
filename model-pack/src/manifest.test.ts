import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import { defaultModelSource } from './fetch.ts';
import {
  defaultManifestPath,
  loadManifest,
  parseManifest,
  resolveModelFile,
  yunetMinifasManifestPath,
} from './manifest.ts';

describe('manifest', () => {
  let dir: string;
  let defaultRaw: Record<string, unknown>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-manifest-'));
    defaultRaw = JSON.parse(await readFile(defaultManifestPath, 'utf8'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('validates both bundled packs and resolves their files', async () => {
    const loaded = await loadManifest(defaultManifestPath, '/var/cache/models');
    assert.equal(loaded.manifest.name, 'faceplugin-default');
    assert.equal(
      loaded.files.embedder,
      '/var/cache/models/faceplugin-face-recognition-js-0.0.1/fr_feature.onnx',
    );
    const second = await loadManifest(yunetMinifasManifestPath, '/var/cache/models');
    assert.equal(second.manifest.models.landmarks, undefined);
    assert.match(second.files.detector!, /shared\/models\/yunet_s_dynamic\.onnx$/);
  });

  it('names the sha256 that the install step prepares for each default model', () => {
    const manifest = parseManifest(defaultRaw, 'default');
    const byFile = new Map(defaultModelSource.files.map((f) => [f.file, f.sha256]));
    for (const model of Object.values(manifest.models)) {
      if (!model) continue;
      assert.equal(model.sha256, byFile.get(model.file.split('/').pop()!));
    }
  });

  it('rejects unknown keys, bad digests and a detector without landmarks, naming the key path', () => {
    const broken = structuredClone(defaultRaw) as { models: Record<string, Record<string, unknown>> };
    broken.models.detector!.sha256 = 'abc';
    broken.models.embedder!.colour = 'blue';
    delete broken.models.landmarks;
    assert.throws(
      () => parseManifest(broken, 'broken.json'),
      (error: unknown) =>
        isTpError(error, 'TP_MODEL_MANIFEST_INVALID') &&
        /models\.detector\.sha256/.test(error.message) &&
        /models\.embedder: unknown key\(s\) "colour"/.test(error.message) &&
        /models\.landmarks: the ultraface detector gives no landmarks/.test(error.message),
    );
  });

  it('reports an unreadable manifest with a code', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{ not json');
    await assert.rejects(loadManifest(path, dir), (error: unknown) =>
      isTpError(error, 'TP_MODEL_MANIFEST_UNREADABLE'),
    );
    await assert.rejects(loadManifest(join(dir, 'missing.json'), dir), (error: unknown) =>
      isTpError(error, 'TP_MODEL_MANIFEST_UNREADABLE'),
    );
  });

  it('resolves cache:, relative and absolute model paths', () => {
    assert.equal(resolveModelFile('cache:a/b.onnx', '/packs/x', '/cache'), '/cache/a/b.onnx');
    assert.equal(resolveModelFile('../m.onnx', '/packs/x', '/cache'), '/packs/m.onnx');
    assert.equal(resolveModelFile('/opt/m.onnx', '/packs/x', '/cache'), '/opt/m.onnx');
  });
});
