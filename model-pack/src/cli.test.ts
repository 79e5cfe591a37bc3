import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { defaultCacheDir, defaultModelSource } from './fetch.ts';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'model-pack', 'bin', 'truepresence-models.ts');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const demo = join(root, 'node_modules', '@vladmandic', 'face-api', 'demo');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, [bin, ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('truepresence-models CLI', () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'tp-cli-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('fetch prepares a pre-seeded cache offline and shows progress', async () => {
    const cache = join(work, 'cache');
    await mkdir(cache);
    await copyFile(
      join(defaultCacheDir, defaultModelSource.tarball),
      join(cache, defaultModelSource.tarball),
    );
    const { code, stderr } = await cli('fetch', '--cache', cache, '--offline');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /truepresence-models: extracting 4 model files/);
    assert.match(stderr, /truepresence-models: model files ready in /);
  });

  it('detect prints faces with quality and liveness and writes an annotated PNG', async () => {
    const out = join(work, 'annotated.png');
    const { code, stdout, stderr } = await cli('detect', join(demo, 'sample4.jpg'), '--out', out);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.faces.length, 4);
    assert.equal(result.annotated, out);
    for (const face of result.faces) {
      assert.equal(face.landmarks.length, 5);
      assert.ok(face.quality.interEyePx > 0 && typeof face.live === 'boolean');
    }
    const meta = await sharp(await readFile(out)).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1920, 1448]);
  });

  it('compare gives a verdict at the pack threshold', async () => {
    const jpeg = await readFile(join(demo, 'sample2.jpg'));
    await writeFile(
      join(work, 'left.jpg'),
      await sharp(jpeg).extract({ left: 0, top: 0, width: 640, height: 700 }).toBuffer(),
    );
    await writeFile(
      join(work, 'right.jpg'),
      await sharp(jpeg).extract({ left: 1280, top: 0, width: 640, height: 700 }).toBuffer(),
    );
    const { code, stdout, stderr } = await cli('compare', join(work, 'left.jpg'), join(work, 'right.jpg'));
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout);
    assert.equal(result.verdict, 'different');
    assert.ok(result.similarity < result.threshold);
  });

  it('exits 2 with the usage on a bad command and 1 with a coded error on a broken image', async () => {
    const bad = await cli('frobnicate');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /TP_MODEL_USAGE: unknown command frobnicate[\s\S]*usage: truepresence-models/);
    await writeFile(join(work, 'broken.jpg'), 'not a photo');
    const broken = await cli('embed', join(work, 'broken.jpg'));
    assert.equal(broken.code, 1);
    assert.match(broken.stderr, /TP_MODEL_IMAGE_CORRUPT/);
  });
});
