import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultManifestPath, loadModelPack, type ModelPack } from '@truepresence/model-pack';
import { parseConfig } from '@truepresence/protocol';
import sharp from 'sharp';
import { facePhotos } from '../../../test/helpers/clips.ts';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { VectorCache } from '../cache/vector-cache.ts';
import type { CameraStats } from '../camera/supervisor.ts';
import type { Frame } from '../camera/types.ts';
import { pipelineConfigSchema } from '../pipeline/config.ts';
import { VisionPipeline } from '../pipeline/vision-pipeline.ts';
import { installerConfigSchema } from './config.ts';
import { faceLabel, overlaySvg } from './overlay.ts';
import { buildInstaller, InstallerServer } from './server.ts';

/** A real group photo (three faces) as a 1280x720 camera frame. */
async function photoFrame(): Promise<Frame> {
  const data = await sharp(facePhotos[2]!).resize(1280, 720, { fit: 'cover' }).removeAlpha().raw().toBuffer();
  return { data, width: 1280, height: 720, capturedAt: Date.now(), seq: 1 };
}

/** What the camera supervisor reports for a healthy camera (its own tests cover how it is measured). */
const streaming: CameraStats = {
  cameraId: 'front',
  state: 'streaming',
  inputFps: 25,
  decoder: 'cpu',
  inputWidth: 1280,
  inputHeight: 720,
  framesDelivered: 40,
  decodeErrors: 2,
  reconnects: 1,
  stalls: 0,
  lastFrameAgeMs: 120,
  lastError: null,
  framesAnalysed: 30,
  framesDropped: 10,
  analysisErrors: 0,
  analysedFps: 5,
  restarts: 0,
  lastFailure: null,
};

describe('installer view', () => {
  let dir: string;
  let pack: ModelPack;
  let cache: VectorCache;
  let pipeline: VisionPipeline;
  const { logger } = captureLogger('info');
  const config = parseConfig(installerConfigSchema, { port: 0 }, 'test');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-installer-'));
    pack = await loadModelPack(defaultManifestPath, { logger });
    cache = VectorCache.open({
      config: { path: join(dir, 'cache.db'), pageCacheMiB: 8 },
      key: randomBytes(32),
      modelPack: pack.id,
      create: true,
      logger,
    });
    pipeline = new VisionPipeline(parseConfig(pipelineConfigSchema, {}, 'test'), ['front'], {
      pack,
      gallery: cache,
      sink: { accept: async () => {} },
      logger,
    });
  });

  after(async () => {
    await pipeline.stop();
    cache.close();
    await pack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers with coded errors for an unknown camera and a camera without a frame yet', async () => {
    const app = buildInstaller(config, { cameraStats: () => [streaming], pipeline, logger });
    const unknown = await app.inject({ method: 'GET', url: '/api/cameras/back' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().code, 'TP_AGENT_INSTALLER_CAMERA_UNKNOWN');
    const noFrame = await app.inject({ method: 'GET', url: '/cameras/front/frame.jpg' });
    assert.equal(noFrame.statusCode, 404);
    assert.equal(noFrame.json().code, 'TP_AGENT_INSTALLER_NO_FRAME');
    await app.close();
  });

  it('shows each face of the latest frame with its size, sharpness and verdict, and the camera figures', async () => {
    await pipeline.analyse('front', await photoFrame());
    const app = buildInstaller(config, { cameraStats: () => [streaming], pipeline, logger });
    const response = await app.inject({ method: 'GET', url: '/api/cameras' });
    assert.equal(response.statusCode, 200);
    const [camera] = response.json().cameras;
    assert.equal(camera.id, 'front');
    assert.deepEqual(
      [camera.inputFps, camera.analysedFps, camera.droppedFrames, camera.decodeErrors, camera.reconnects],
      [25, 5, 10, 2, 1],
    );
    assert.equal(camera.lastFrameAgeMs, 120);
    assert.equal(camera.faces.length, 3);
    for (const face of camera.faces) {
      assert.ok(face.interEyePx >= pack.qualityLimits.minInterEyePx, JSON.stringify(face));
      assert.ok(face.sharpness > 0);
      assert.equal(face.pass, true, JSON.stringify(face));
    }
    assert.equal(camera.limits.minInterEyePx, pack.qualityLimits.minInterEyePx);

    const jpeg = await app.inject({ method: 'GET', url: '/cameras/front/frame.jpg' });
    assert.equal(jpeg.statusCode, 200);
    assert.equal(jpeg.headers['content-type'], 'image/jpeg');
    const { data, info } = await sharp(jpeg.rawPayload).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [1280, 720]);
    // The box of a face that passes the gate is drawn in green.
    const box = camera.faces[0].box;
    const at = (Math.round(box.y) * info.width + Math.round(box.x + box.width / 2)) * info.channels;
    assert.ok(data[at + 1]! > 150 && data[at]! < 120, `pixel ${data[at]},${data[at + 1]},${data[at + 2]}`);

    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /\/api\/cameras/);
    await app.close();
  });

  it('labels a face with what it misses and escapes the text it draws', () => {
    const face = {
      trackId: 1,
      box: { x: 10, y: 10, width: 40, height: 40 },
      score: 0.9,
      quality: {
        faceSizePx: 40,
        interEyePx: 14.2,
        sharpness: 8,
        brightness: 30,
        yawDeg: 0,
        pitchDeg: 0,
        rollDeg: 0,
      },
      verdict: { pass: false, issues: ['eyes-too-close' as const, 'blurry' as const], score: 0.1 },
    };
    assert.equal(faceLabel(face), 'eyes 14 px · sharp 8 · eyes-too-close, blurry');
    const svg = overlaySvg(640, 360, [face], 'door <1> & "side"');
    assert.match(svg, /door &lt;1&gt; &amp; &quot;side&quot;/);
    assert.match(svg, /stroke="#ff4136"/);
  });

  it('listens on localhost by default and stops', async () => {
    assert.equal(config.host, '127.0.0.1');
    const server = new InstallerServer(config, { cameraStats: () => [streaming], pipeline, logger });
    await server.start();
    const url = server.url!;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const response = await fetch(`${url}api/cameras/front`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { id: string }).id, 'front');
    await server.stop();
    assert.equal(server.url, null);
    await assert.rejects(fetch(`${url}api/cameras`));
  });
});
