import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import type { Logger } from '@truepresence/protocol';
import { parseConfig } from '@truepresence/protocol';
import { facePhotos, makeClip } from '../../../test/helpers/clips.ts';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { freePort } from '../../../test/helpers/ports.ts';
import { waitUntil } from '../../../test/helpers/wait.ts';
import { camerasConfigSchema } from './config.ts';
import type { AnalyseFrame } from './fair-scheduler.ts';
import { createCameraSource } from './sources.ts';
import { type CameraStats, CameraSupervisor, supervisorConfigSchema } from './supervisor.ts';
import type { CameraSource } from './types.ts';

let dir: string;
let clip: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-supervisor-'));
  clip = await makeClip({
    photo: facePhotos[2]!,
    out: join(dir, 'clip.mp4'),
    seconds: 2,
    width: 320,
    height: 180,
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sources(raw: unknown[], logger: Logger): CameraSource[] {
  return parseConfig(camerasConfigSchema, raw, 'test').map((config) =>
    createCameraSource(config, {
      logger,
      ffmpegPath: '/usr/bin/ffmpeg',
      decode: { hwaccel: 'none' },
      secrets: {},
    }),
  );
}

function supervise(t: TestContext, cameras: CameraSource[], analyse: AnalyseFrame, logger: Logger) {
  const config = parseConfig(supervisorConfigSchema, { restartDelayMs: 50, maxRestarts: 2 }, 'test');
  const supervisor = new CameraSupervisor(cameras, analyse, config, logger);
  t.after(() => supervisor.stop());
  const stats = (id: string): CameraStats => supervisor.stats().find((s) => s.cameraId === id)!;
  return { supervisor, stats };
}

const fileCamera = (id: string, fps = 5) => ({
  type: 'file',
  id,
  path: clip,
  fps,
  backoff: { initialMs: 50, maxMs: 200 },
});

describe('camera supervisor', { concurrency: true }, () => {
  test('cameras that cannot connect or cannot start never stop the one that works', async (t) => {
    const { logger, lines } = captureLogger();
    const cameras = sources(
      [
        fileCamera('good'),
        {
          type: 'rtsp',
          id: 'refused',
          url: `rtsp://127.0.0.1:${await freePort()}/stream`,
          backoff: { initialMs: 50, maxMs: 200 },
        },
        {
          type: 'rtsp',
          id: 'nosecret',
          url: 'rtsp://127.0.0.1:1/stream',
          credentials: { username: 'u', password: { file: join(dir, 'missing.secret') } },
        },
      ],
      logger,
    );
    const { supervisor, stats } = supervise(t, cameras, async () => {}, logger);
    await supervisor.start();
    await waitUntil(
      () =>
        stats('refused').reconnects >= 3 && lines.some((l) => l.includes('TP_AGENT_CAMERA_RESTART_CAPPED')),
      'the failing cameras to retry and hit the restart cap',
    );
    const analysedThen = stats('good').framesAnalysed;
    await waitUntil(() => stats('good').framesAnalysed >= analysedThen + 5, 'the good camera to go on');

    assert.equal(stats('good').state, 'streaming');
    assert.equal(stats('refused').framesDelivered, 0);
    assert.match(stats('refused').lastError ?? '', /Connection refused/);
    const nosecret = stats('nosecret');
    // Restarted twice quickly, then held back by the cap (one per 60 s window from then on).
    assert.equal(nosecret.restarts, 2);
    assert.match(nosecret.lastFailure ?? '', /^TP_SECRET_MISSING: /);
  });

  test('a source that crashes is restarted alone and delivers again', async (t) => {
    const { logger, lines } = captureLogger();
    const cameras = sources([fileCamera('crashy'), fileCamera('steady')], logger);
    const analysed = { crashy: 0, steady: 0 };
    const { supervisor, stats } = supervise(
      t,
      cameras,
      async (cameraId) => {
        analysed[cameraId as keyof typeof analysed] += 1;
      },
      logger,
    );
    let thrown = false;
    cameras[0]!.on('frame', (frame) => {
      if (frame.seq === 3 && !thrown) {
        thrown = true;
        throw new Error('listener bug');
      }
    });
    await supervisor.start();
    await waitUntil(() => stats('crashy').restarts === 1, 'the crashed camera to be restarted');
    const after = { crashy: analysed.crashy, steady: analysed.steady };
    await waitUntil(
      () => analysed.crashy >= after.crashy + 3 && analysed.steady >= after.steady + 3,
      'both cameras to deliver after the restart',
    );
    assert.equal(stats('steady').restarts, 0);
    assert.match(stats('crashy').lastFailure ?? '', /^TP_AGENT_CAMERA_CRASHED: .*listener bug/);
    assert.ok(lines.some((l) => l.includes('TP_AGENT_CAMERA_CRASHED')));
  });

  test('a slow analysis drops frames instead of queueing them, and no camera waits behind another', async (t) => {
    const { logger } = captureLogger();
    const cameras = sources([fileCamera('left', 10), fileCamera('right', 10)], logger);
    const { supervisor, stats } = supervise(
      t,
      cameras,
      () => new Promise<void>((resolve) => setTimeout(resolve, 200)),
      logger,
    );
    await supervisor.start();
    await waitUntil(
      () => stats('left').framesAnalysed >= 5 && stats('right').framesAnalysed >= 5,
      'five analysed frames of each camera',
    );
    for (const camera of [stats('left'), stats('right')]) {
      assert.ok(camera.framesDropped > 0, `${camera.cameraId}: frames dropped`);
      assert.ok(camera.framesDelivered >= camera.framesAnalysed + camera.framesDropped);
      assert.ok(camera.analysedFps > 0);
    }
  });
});
