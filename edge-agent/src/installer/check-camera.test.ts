import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultManifestPath, loadModelPack, type ModelPack } from '@truepresence/model-pack';
import { facePhotos, makeClip } from '../../../test/helpers/clips.ts';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { freePort } from '../../../test/helpers/ports.ts';
import { type RtspServer, startRtspServer } from '../../../test/helpers/rtsp-server.ts';
import { type CheckCameraDeps, parseCheckCameraArgs, runCheckCamera } from './check-camera.ts';

describe('truepresence-agent check-camera', () => {
  let dir: string;
  let pack: ModelPack;
  let server: RtspServer;
  let noFaces: string;
  let deps: CheckCameraDeps;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-check-camera-'));
    const { logger } = captureLogger('info');
    let faces: string;
    [pack, faces, noFaces] = await Promise.all([
      loadModelPack(defaultManifestPath, { logger }),
      // Three people side by side, faces about 70 px wide: large enough.
      makeClip({ photo: facePhotos[2]!, out: join(dir, 'faces.mp4'), seconds: 4 }),
      // The sofa below them, close up: no face at all.
      makeClip({
        photo: facePhotos[2]!,
        out: join(dir, 'sofa.mp4'),
        seconds: 4,
        from: { zoom: 4, x: 0.1, y: 0.85 },
      }),
    ]);
    server = await startRtspServer({ file: faces });
    deps = { pack, logger, ffmpegPath: '/usr/bin/ffmpeg', secrets: {} };
  });

  after(async () => {
    await server?.stop();
    await pack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects over RTSP, grabs frames and says the faces are large and sharp enough (exit 0)', async () => {
    const output: string[] = [];
    const code = await runCheckCamera([server.url, '--seconds', '3'], deps, (text) => output.push(text));
    const text = output.join('\n');
    assert.equal(code, 0, text);
    assert.match(text, /stream 640x360/);
    assert.match(text, /largest face: eyes \d+ px apart \(needs >= \d+\)/);
    assert.match(text, /OK: faces at this entrance are large and sharp enough/);
  });

  it('exits 4 with the reason when frames come but no usable face does', async () => {
    const output: string[] = [];
    const code = await runCheckCamera([noFaces, '--seconds', '2'], deps, (text) => output.push(text));
    const text = output.join('\n');
    assert.equal(code, 4, text);
    assert.match(text, /NOT USABLE/);
    assert.match(text, /TP_AGENT_CHECK_CAMERA_NO_USABLE_FACE/);
  });

  it('exits 3 when no frame arrives', async () => {
    const output: string[] = [];
    const url = `rtsp://127.0.0.1:${await freePort()}/nothing`;
    const code = await runCheckCamera([url, '--seconds', '2'], deps, (text) => output.push(text));
    assert.equal(code, 3, output.join('\n'));
    assert.match(output.join('\n'), /NO FRAMES[\s\S]*TP_AGENT_CHECK_CAMERA_NO_FRAMES/);
  });

  it('refuses bad arguments and credentials in the URL (exit 2)', async () => {
    const output: string[] = [];
    assert.equal(await runCheckCamera([], deps, (text) => output.push(text)), 2);
    assert.equal(
      await runCheckCamera(['rtsp://admin:secret@10.0.0.5/stream'], deps, (text) => output.push(text)),
      2,
    );
    assert.equal(await runCheckCamera([server.url, '--seconds', '-1'], deps, (text) => output.push(text)), 2);
    const text = output.join('\n');
    assert.match(text, /TP_AGENT_CHECK_CAMERA_USAGE/);
    assert.match(text, /credentials/);
    assert.doesNotMatch(text, /secret/);
    const parsed = parseCheckCameraArgs([
      'rtsp://10.0.0.5/s',
      '--user',
      'admin',
      '--password-file',
      '/run/pw',
    ]);
    assert.equal(parsed.camera.type, 'rtsp');
    assert.equal(parsed.seconds, 5);
  });
});
