import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { parseConfig } from '@truepresence/protocol';
import { facePhotos, makeClip, writeRandomFile } from '../../../test/helpers/clips.ts';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { waitForEvent } from '../../../test/helpers/wait.ts';
import { AgentErrorCode } from '../errors.ts';
import { fileCameraSchema } from './config.ts';
import { FileCameraSource } from './file.ts';
import type { CameraHealth, Frame } from './types.ts';

let dir: string;
/** 2 s at 25 fps, 640x360. */
let clip: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-file-camera-'));
  clip = await makeClip({ photo: facePhotos[1]!, out: join(dir, 'clip.mp4'), seconds: 2 });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function camera(t: TestContext, path: string, overrides: Record<string, unknown> = {}) {
  const config = parseConfig(
    fileCameraSchema,
    { type: 'file', id: 'demo', path, fps: 5, backoff: { initialMs: 50, maxMs: 200 }, ...overrides },
    'test',
  );
  const source = new FileCameraSource(config, {
    logger: captureLogger().logger,
    ffmpegPath: '/usr/bin/ffmpeg',
    decode: { hwaccel: 'none' },
    secrets: {},
  });
  t.after(() => source.stop());
  return source;
}

describe('file camera source', { concurrency: true }, () => {
  test('plays a file once at the bounded rate and ends, frames left at their size', async (t) => {
    const source = camera(t, clip, { loop: false });
    const frames: Frame[] = [];
    source.on('frame', (frame) => frames.push(frame));
    const ended = waitForEvent<CameraHealth>(
      source,
      'health',
      (h) => h.state === 'ended',
      'the end of the file',
    );
    await source.start();
    await ended;
    assert.ok(frames.length >= 8 && frames.length <= 12, `${frames.length} frames for 2 s at 5 fps`);
    assert.ok(frames.every((f) => f.width === 640 && f.height === 360 && f.data.length === 640 * 360 * 3));
    assert.deepEqual(
      [source.counters().state, source.counters().reconnects, source.counters().decodeErrors],
      ['ended', 0, 0],
    );
  });

  test('loops the file without reconnecting', async (t) => {
    const source = camera(t, clip);
    await source.start();
    await waitForEvent<Frame>(source, 'frame', (f) => f.seq > 15, 'a frame of the second pass');
    assert.deepEqual([source.counters().state, source.counters().reconnects], ['streaming', 0]);
  });

  test('a file of random bytes fails to open, is retried with backoff, and nothing crashes', async (t) => {
    const garbage = await writeRandomFile(join(dir, 'garbage.mp4'), 256 * 1024);
    const source = camera(t, garbage);
    const retried = waitForEvent<CameraHealth>(
      source,
      'health',
      (h) => h.state === 'backoff' && source.counters().reconnects >= 2,
      'two retries',
    );
    await source.start();
    const health = await retried;
    assert.equal(health.code, AgentErrorCode.cameraDecoderExited);
    assert.match(health.detail ?? '', /Invalid data/);
    assert.equal(source.counters().framesDelivered, 0);
  });

  test('hardware decoding that cannot start falls back to the CPU with one warning', async (t) => {
    const profiles = [
      { hwaccel: 'vaapi', device: join(dir, 'no-such-render-node') },
      { hwaccel: 'none', decoders: { h264: 'h264_nvv4l2dec' } },
    ] as const;
    for (const decode of profiles) {
      const { logger, lines } = captureLogger();
      const source = new FileCameraSource(
        parseConfig(fileCameraSchema, { type: 'file', id: 'demo', path: clip }, 'test'),
        {
          logger,
          ffmpegPath: '/usr/bin/ffmpeg',
          decode,
          secrets: {},
        },
      );
      t.after(() => source.stop());
      await source.start();
      const frame = await waitForEvent<Frame>(source, 'frame', () => true, 'a frame decoded on the CPU');
      assert.equal(frame.data.length, 640 * 360 * 3);
      assert.deepEqual([source.counters().decoder, source.counters().decodeErrors], ['cpu', 0]);
      assert.equal(lines.filter((l) => l.includes('TP_AGENT_CAMERA_HWACCEL_UNAVAILABLE')).length, 1);
      await source.stop();
    }
  });

  test('a decoder the device profile forces for the stream codec is used once the codec is known', async (t) => {
    const { logger, lines } = captureLogger('debug');
    const source = new FileCameraSource(
      parseConfig(fileCameraSchema, { type: 'file', id: 'demo', path: clip }, 'test'),
      {
        logger,
        ffmpegPath: '/usr/bin/ffmpeg',
        // ffmpeg's own H.264 decoder stands in for a hardware one (h264_nvv4l2dec, h264_cuvid...).
        decode: { hwaccel: 'none', decoders: { h264: 'h264', hevc: 'hevc_cuvid' } },
        secrets: {},
      },
    );
    t.after(() => source.stop());
    await source.start();
    await waitForEvent<Frame>(source, 'frame', (f) => f.seq >= 3, 'frames from the forced decoder');
    assert.deepEqual([source.counters().decoder, source.counters().reconnects], ['h264', 0]);
    assert.ok(lines.some((l) => l.includes('"-c:v","h264","-re"')));
    assert.ok(!lines.some((l) => l.includes('TP_AGENT_CAMERA_HWACCEL_UNAVAILABLE')));
  });

  test('a missing ffmpeg is reported with its own code and retried', async (t) => {
    const config = parseConfig(fileCameraSchema, { type: 'file', id: 'demo', path: clip }, 'test');
    const source = new FileCameraSource(config, {
      logger: captureLogger().logger,
      ffmpegPath: join(dir, 'no-such-ffmpeg'),
      decode: { hwaccel: 'none' },
      secrets: {},
    });
    t.after(() => source.stop());
    const failed = waitForEvent<CameraHealth>(source, 'health', (h) => h.state === 'backoff', 'the failure');
    await source.start();
    const health = await failed;
    assert.equal(health.code, AgentErrorCode.cameraFfmpegUnavailable);
    assert.match(health.detail ?? '', /ENOENT/);
  });
});
