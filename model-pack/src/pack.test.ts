import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createLogger, isTpError } from '@truepresence/protocol';
import sharp from 'sharp';
import { inferenceBackends } from './backends/index.ts';
import { defaultCacheDir, defaultModelSource, fetchModels } from './fetch.ts';
import { decodeImage, type RgbImage, rgbFrame } from './image.ts';
import { defaultManifestPath, loadManifest } from './manifest.ts';
import { type Face, loadModelPack, ModelPack } from './pack.ts';
import { cosineSimilarity } from './similarity.ts';
import { extractFromTgz } from './tar.ts';

const demo = join(import.meta.dirname, '..', '..', 'node_modules', '@vladmandic', 'face-api', 'demo');
/** Faces in @vladmandic/face-api's demo/sample1..6.jpg, counted by eye. */
const facesByEye = [3, 3, 3, 4, 5, 4];

const inside = (p: { x: number; y: number }, f: Face) =>
  p.x >= f.box.x && p.x <= f.box.x + f.box.width && p.y >= f.box.y && p.y <= f.box.y + f.box.height;

describe('ModelPack (default pack, real photos)', () => {
  let pack: ModelPack;
  const photos: Array<{ jpeg: Buffer; image: RgbImage; faces: Face[] }> = [];
  let work: string;

  before(async () => {
    await fetchModels({ cacheDir: defaultCacheDir });
    pack = await loadModelPack(defaultManifestPath);
    for (let i = 1; i <= 6; i++) {
      const jpeg = await readFile(join(demo, `sample${i}.jpg`));
      const image = await decodeImage(jpeg);
      photos.push({ jpeg, image, faces: await pack.detect(image) });
    }
    work = await mkdtemp(join(tmpdir(), 'tp-pack-'));
  });
  after(async () => {
    await pack.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('finds every face of the six group photos, with eyes, nose and mouth inside each box', () => {
    assert.deepEqual(
      photos.map((p) => p.faces.length),
      facesByEye,
    );
    for (const { faces } of photos) {
      for (const face of faces) {
        assert.ok(face.score >= pack.thresholds.detectionScore && face.score <= 1);
        for (const point of face.landmarks) assert.ok(inside(point, face), 'landmark outside its face box');
        const [eyeA, eyeB, nose, mouthA, mouthB] = face.landmarks;
        assert.ok(eyeA.x < eyeB.x && mouthA.x < mouthB.x, 'left/right order of the template');
        // Distance below the eye line, whatever the head's tilt: nose first, then the mouth.
        const below = (p: { x: number; y: number }) =>
          ((eyeB.x - eyeA.x) * (p.y - eyeA.y) - (eyeB.y - eyeA.y) * (p.x - eyeA.x)) /
          Math.hypot(eyeB.x - eyeA.x, eyeB.y - eyeA.y);
        assert.ok(below(nose) > 0 && below(mouthA) > below(nose) && below(mouthB) > below(nose));
      }
    }
  });

  it('findFaces leaves the landmarks model to locate, which gives the faces detect gives', async () => {
    const { image, faces } = photos[3]!;
    const candidates = await pack.findFaces(image);
    assert.deepEqual(
      candidates.map((c) => c.box),
      faces.map((f) => f.box),
    );
    assert.ok(candidates.every((c) => c.landmarks === undefined));
    assert.deepEqual(await Promise.all(candidates.map((c) => pack.locate(image, c))), faces);
  });

  it('gives L2-normalised embeddings; different people in one photo score below the match threshold', async () => {
    for (const { image, faces } of photos) {
      const embeddings = await pack.embedMany(faces.map((f) => pack.align(image, f)));
      for (const e of embeddings) {
        assert.equal(e.length, 512);
        assert.ok(Math.abs(Math.hypot(...e) - 1) < 1e-5);
      }
      for (let i = 0; i < embeddings.length; i++) {
        for (let j = i + 1; j < embeddings.length; j++) {
          assert.ok(cosineSimilarity(embeddings[i]!, embeddings[j]!) < pack.thresholds.match);
        }
      }
    }
  });

  it('aligns a rotated copy so that its embedding matches the original', async () => {
    const { jpeg, image, faces } = photos[2]!;
    const original = await Promise.all(faces.map((f) => pack.embed(pack.align(image, f))));
    const rotated = await decodeImage(
      await sharp(jpeg).rotate(25, { background: '#808080' }).jpeg().toBuffer(),
    );
    const found = await pack.detect(rotated);
    assert.equal(found.length, faces.length);
    for (const face of found) {
      const e = await pack.embed(pack.align(rotated, face));
      const best = Math.max(...original.map((o) => cosineSimilarity(o, e)));
      assert.ok(best > 0.9, `rotated copy scores ${best}`);
      assert.ok(Math.abs(pack.quality(rotated, face).rollDeg) > 10, 'a rotated head reads as roll');
    }
  });

  it('detects in raw frames and inside a region of interest, in image coordinates', async () => {
    const { jpeg, faces } = photos[0]!;
    const { data, info } = await sharp(jpeg)
      .resize(1280, 720, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const frame = rgbFrame(data, info.width, info.height);
    const inFrame = await pack.detect(frame);
    assert.equal(inFrame.length, faces.length);
    const target = inFrame[0]!;
    const roi = {
      x: target.box.x - 100,
      y: target.box.y - 100,
      width: target.box.width + 200,
      height: target.box.height + 200,
    };
    const inRoi = await pack.detect(frame, { roi });
    assert.equal(inRoi.length, 1);
    assert.ok(Math.abs(inRoi[0]!.box.x - target.box.x) < 10 && Math.abs(inRoi[0]!.box.y - target.box.y) < 10);
    const [one] = await Promise.all([pack.detect(frame, { maxFaces: 1 }), pack.detect(frame)]);
    assert.equal(one.length, 1);
  });

  it('scores liveness and quality of real faces', async () => {
    const { image, faces } = photos[4]!;
    const scores = await pack.livenessMany(image, faces);
    for (const s of scores) assert.ok(s >= 0 && s <= 1);
    assert.ok(
      scores.filter((s) => s >= pack.thresholds.liveness).length >= 4,
      `liveness ${scores.join(', ')}`,
    );
    const analysis = await pack.analyze(image, faces[0]!);
    assert.equal(analysis.aligned.width, 112);
    assert.ok(analysis.quality.faceSizePx > 100 && analysis.quality.interEyePx > 40);
    assert.ok(analysis.quality.brightness > 40 && analysis.quality.sharpness > 50);
    assert.deepEqual(analysis.qualityIssues, pack.qualityIssues(analysis.quality));
  });

  it('prepared models (denormals set to 0) give bit-identical outputs to the shipped ones on real faces', async () => {
    const { image, faces } = photos[0]!;
    const shipped = extractFromTgz(
      await readFile(join(defaultCacheDir, defaultModelSource.tarball)),
      new Set(['package/model/fr_feature.onnx']),
    ).get('package/model/fr_feature.onnx')!;
    const original = inferenceBackends.onnxruntime({
      providers: ['cpu'],
      intraOpThreads: 1,
      interOpThreads: 1,
    });
    await original.load(shipped);
    try {
      for (const face of faces) {
        const aligned = pack.align(image, face);
        const data = new Float32Array(3 * 112 * 112);
        for (let c = 0; c < 3; c++) {
          for (let p = 0; p < 112 * 112; p++)
            data[c * 112 * 112 + p] = (aligned.data[p * 3 + c]! - 127) / 128;
        }
        const raw = (await original.run({ input: { data, dims: [1, 3, 112, 112] } })).output!.data;
        const norm = Math.hypot(...raw);
        const prepared = await pack.embed(aligned);
        assert.deepEqual(
          prepared,
          raw.map((v) => v / norm),
        );
      }
    } finally {
      await original.dispose();
    }
  });

  it('refuses a model whose sha256 differs from the manifest, and a missing file', async () => {
    const raw = JSON.parse(await readFile(defaultManifestPath, 'utf8'));
    raw.models.liveness.sha256 = '0'.repeat(64);
    const wrong = join(work, 'wrong-sha.json');
    await writeFile(wrong, JSON.stringify(raw));
    await assert.rejects(
      loadModelPack(wrong),
      (error: unknown) =>
        isTpError(error, 'TP_MODEL_CHECKSUM_MISMATCH') && error.message.includes('refusing to load'),
    );
    raw.models.liveness.file = 'cache:nowhere/fr_liveness.onnx';
    await writeFile(wrong, JSON.stringify(raw));
    await assert.rejects(
      loadModelPack(wrong),
      (error: unknown) => isTpError(error, 'TP_MODEL_FILE_MISSING') && error.message.includes('npm install'),
    );
  });

  it('refuses a manifest whose input size or output names do not match the model', async () => {
    const loaded = await loadManifest(defaultManifestPath, defaultCacheDir);
    loaded.manifest.models.landmarks!.input.width = 96;
    const pack2 = new ModelPack(loaded);
    await assert.rejects(
      pack2.start(),
      (error: unknown) =>
        isTpError(error, 'TP_MODEL_MANIFEST_INVALID') && /shape \[1,1,64,64\]/.test(error.message),
    );
    loaded.manifest.models.landmarks!.input.width = 64;
    loaded.manifest.models.liveness.decoder.output = 'logits';
    await assert.rejects(
      pack2.start(),
      (error: unknown) =>
        isTpError(error, 'TP_MODEL_MANIFEST_INVALID') && /reads output\(s\) logits/.test(error.message),
    );
    await assert.rejects(pack2.detect(photos[0]!.image), (error: unknown) =>
      isTpError(error, 'TP_MODEL_NOT_STARTED'),
    );
  });

  it('falls back to CPU for a missing execution provider with one log line naming both', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ name: 'test', level: 'info' }, sink);
    const fallback = await loadModelPack(defaultManifestPath, { providers: ['openvino', 'cpu'], logger });
    try {
      const providerLines = lines.map((l) => JSON.parse(l)).filter((l) => /execution providers/.test(l.msg));
      assert.equal(providerLines.length, 1);
      assert.match(providerLines[0].msg, /asked \[openvino, cpu\], running \[cpu\]; fell back: openvino/);
      assert.deepEqual(fallback.describe().embedder?.providers, ['cpu']);
      assert.equal((await fallback.detect(photos[0]!.image)).length, facesByEye[0]);
    } finally {
      await fallback.stop();
    }
  });
});
