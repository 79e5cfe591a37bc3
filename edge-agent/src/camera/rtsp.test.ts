import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { parseConfig } from '@truepresence/protocol';
import { concatClips, corruptClip, facePhotos, makeClip } from '../../../test/helpers/clips.ts';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { freePort } from '../../../test/helpers/ports.ts';
import { type RtspServer, startRtspServer } from '../../../test/helpers/rtsp-server.ts';
import { waitForEvent } from '../../../test/helpers/wait.ts';
import { AgentErrorCode } from '../errors.ts';
import { rtspCameraSchema } from './config.ts';
import { RtspCameraSource } from './rtsp.ts';
import type { CameraHealth, Frame } from './types.ts';

let dir: string;
/** 4 s at 25 fps (100 frames), 640x360. */
let shortClip: string;
/** The same scene for 40 s: a stream that outlasts every test. */
let longClip: string;
let corruptedClip: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tp-rtsp-'));
  const base = await makeClip({
    photo: facePhotos[0]!,
    out: join(dir, 'base.mp4'),
    seconds: 2,
    from: { zoom: 1.2, x: 0.35, y: 0.5 },
    to: { zoom: 1.8, x: 0.6, y: 0.45 },
  });
  shortClip = await concatClips([base, base], join(dir, 'short.mp4'));
  longClip = await concatClips(Array<string>(20).fill(base), join(dir, 'long.mp4'));
  corruptedClip = await corruptClip(shortClip, join(dir, 'corrupt.mp4'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function server(t: TestContext, options: Parameters<typeof startRtspServer>[0]): Promise<RtspServer> {
  const started = await startRtspServer(options);
  t.after(() => started.stop());
  return started;
}

async function secretFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${content}\n`, { mode: 0o600 });
  return path;
}

function camera(t: TestContext, url: string, overrides: Record<string, unknown> = {}) {
  const log = captureLogger('debug');
  const config = parseConfig(
    rtspCameraSchema,
    {
      type: 'rtsp',
      id: 'door',
      url,
      fps: 5,
      maxWidth: 320,
      stallTimeoutMs: 5000,
      backoff: { initialMs: 100, maxMs: 400 },
      ...overrides,
    },
    'test',
  );
  const source = new RtspCameraSource(config, {
    logger: log.logger,
    ffmpegPath: '/usr/bin/ffmpeg',
    decode: { hwaccel: 'none' },
    secrets: {},
  });
  t.after(() => source.stop());
  return { source, lines: log.lines };
}

const nextHealth = (source: RtspCameraSource, accept: (h: CameraHealth) => boolean, what: string) =>
  waitForEvent<CameraHealth>(source, 'health', accept, what);
const nextFrame = (source: RtspCameraSource, accept: (f: Frame) => boolean, what: string) =>
  waitForEvent<Frame>(source, 'frame', accept, what);

describe('RTSP camera source against a real RTSP server', { concurrency: true }, () => {
  test('delivers scaled RGB frames at the bounded rate, logging in without the password in any log line', async (t) => {
    // Characters that must be percent-encoded in a URL, and a "%" that must not be taken for an escape.
    const password = 'pa:ss@w/rd%42 x';
    const rtsp = await server(t, { file: shortClip, user: 'viewer', password });
    const { source, lines } = camera(t, rtsp.url, {
      credentials: { username: 'viewer', password: { file: await secretFile('good.secret', password) } },
    });
    const frames: Frame[] = [];
    source.on('frame', (frame) => frames.push(frame));
    const clipEnded = nextHealth(source, (h) => h.state === 'backoff', 'the end of the 4 s clip');
    await source.start();
    await clipEnded;

    // 100 frames at 25 fps over 4 s of stream time, analysed at 5 fps: about 20, never all 100.
    assert.ok(frames.length >= 10 && frames.length <= 23, `${frames.length} frames for 4 s at 5 fps`);
    assert.deepEqual(
      frames.map((f) => f.seq),
      frames.map((_, i) => i + 1),
    );
    for (const frame of frames) {
      assert.equal(frame.width, 320);
      assert.equal(frame.height, 180);
      assert.equal(frame.data.length, 320 * 180 * 3);
    }
    // A real picture, not a blank: the photo has both dark and bright pixels.
    const last = frames.at(-1)!.data;
    assert.ok(Math.min(...last.subarray(0, 30_000)) < 60 && Math.max(...last.subarray(0, 30_000)) > 180);
    const counters = source.counters();
    assert.deepEqual(
      [counters.inputWidth, counters.inputHeight, counters.inputFps, counters.decodeErrors],
      [640, 360, 25, 0],
    );

    const log = lines.join('');
    assert.match(log, /rtsp:\/\/\*\*\*@127\.0\.0\.1/, 'the ffmpeg command line is logged, scrubbed');
    assert.ok(!log.includes(password) && !log.includes(encodeURIComponent(password)));
  });

  test('a wrong password fails with the server answer, is retried, and never shows in logs', async (t) => {
    const rtsp = await server(t, { file: shortClip, user: 'viewer', password: 'right-one' });
    const wrong = 'wrong-Secret-77';
    const { source, lines } = camera(t, rtsp.url, {
      credentials: { username: 'viewer', password: { file: await secretFile('bad.secret', wrong) } },
    });
    const retried = nextHealth(
      source,
      (h) => h.state === 'backoff' && source.counters().reconnects >= 1,
      'a retry',
    );
    await source.start();
    const failure = await retried;
    assert.equal(failure.code, AgentErrorCode.cameraDecoderExited);
    assert.match(failure.detail ?? '', /401 Unauthorized/);
    assert.equal(source.counters().framesDelivered, 0);
    const log = lines.join('');
    assert.match(log, /401 Unauthorized/);
    assert.ok(!log.includes(wrong) && !(failure.detail ?? '').includes(wrong));
  });

  test('reconnects when the server dies mid-stream and comes back on the same port', async (t) => {
    const port = await freePort();
    const first = await server(t, { file: longClip, port });
    const { source } = camera(t, first.url);
    await source.start();
    const before = await nextFrame(source, (f) => f.seq >= 3, 'the first frames');

    const lost = nextHealth(source, (h) => h.state === 'backoff', 'the stream loss');
    const refused = nextHealth(source, (h) => /refused/i.test(h.detail ?? ''), 'a refused reconnect');
    await first.kill();
    await lost;
    await refused;
    const reconnectsWhileDown = source.counters().reconnects;
    assert.ok(reconnectsWhileDown >= 1);
    assert.notEqual(source.counters().state, 'streaming');

    await server(t, { file: longClip, port });
    const resumed = await nextFrame(source, (f) => f.seq > before.seq + 3, 'frames after the server restart');
    assert.equal(resumed.width, 320);
    const counters = source.counters();
    assert.equal(counters.state, 'streaming');
    assert.ok(counters.reconnects > reconnectsWhileDown);
  });

  test('the stall watchdog restarts the decoder when a connected server stops sending', async (t) => {
    const rtsp = await server(t, { file: longClip });
    const { source, lines } = camera(t, rtsp.url, { stallTimeoutMs: 1000, openTimeoutMs: 10_000 });
    await source.start();
    await nextFrame(source, (f) => f.seq >= 3, 'the first frames');

    const stalled = nextHealth(source, (h) => h.code === AgentErrorCode.cameraStalled, 'the watchdog');
    rtsp.pause();
    const health = await stalled;
    assert.equal(health.state, 'backoff');
    assert.ok(source.counters().stalls >= 1);
    const seqAtStall = source.counters().framesDelivered;

    rtsp.resume();
    await nextFrame(source, (f) => f.seq > seqAtStall + 2, 'frames after the server resumed');
    assert.match(lines.join(''), /TP_AGENT_CAMERA_STALLED/);
  });

  test('a camera that accepts the connection but never answers is restarted by the open watchdog', async (t) => {
    const accepted = new Set<Socket>();
    const silent = createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    // close() waits for open connections, and the decoder may still hold one: end them first.
    t.after(() => {
      for (const socket of accepted) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const { port } = silent.address() as AddressInfo;
    const { source } = camera(t, `rtsp://127.0.0.1:${port}/stream`, { openTimeoutMs: 1000 });
    const timedOut = nextHealth(source, (h) => h.state === 'backoff', 'the open watchdog');
    await source.start();
    const health = await timedOut;
    assert.equal(health.code, AgentErrorCode.cameraOpenTimeout);
    assert.equal(source.counters().stalls, 0);
  });

  test('corrupt stream data is counted as decode errors while frames keep coming', async (t) => {
    const rtsp = await server(t, { file: corruptedClip });
    const { source } = camera(t, rtsp.url);
    const clipEnded = nextHealth(source, (h) => h.state === 'backoff', 'the end of the corrupt clip');
    await source.start();
    await clipEnded;
    const counters = source.counters();
    assert.ok(counters.decodeErrors > 0, 'decode errors counted');
    assert.ok(counters.framesDelivered >= 10, `${counters.framesDelivered} frames despite the corruption`);
  });

  test('plays over UDP when the camera is configured for it', async (t) => {
    const rtsp = await server(t, { file: longClip });
    const { source, lines } = camera(t, rtsp.url, { transport: 'udp' });
    await source.start();
    const frame = await nextFrame(source, (f) => f.seq >= 3, 'frames over UDP');
    assert.equal(frame.data.length, 320 * 180 * 3);
    assert.match(lines.join(''), /-rtsp_transport","udp"/);
  });
});
