// End to end, with real parts only: walk-by clips made from real photos, served by GStreamer's RTSP
// server, decoded by the agent's RTSP camera sources, analysed by the real models, matched in the real
// encrypted vector cache, and signed into the real outbox.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultManifestPath, loadModelPack, type ModelPack } from '@truepresence/model-pack';
import { type EventEnvelope, parseConfig } from '@truepresence/protocol';
import sharp from 'sharp';
import type { VectorCache } from '../../edge-agent/src/cache/vector-cache.ts';
import { rtspCameraSchema } from '../../edge-agent/src/camera/config.ts';
import { createCameraSource } from '../../edge-agent/src/camera/sources.ts';
import { CameraSupervisor, supervisorConfigSchema } from '../../edge-agent/src/camera/supervisor.ts';
import type { Frame } from '../../edge-agent/src/camera/types.ts';
import { installerConfigSchema } from '../../edge-agent/src/installer/config.ts';
import { buildInstaller } from '../../edge-agent/src/installer/server.ts';
import { Outbox } from '../../edge-agent/src/outbox/outbox.ts';
import { pipelineConfigSchema } from '../../edge-agent/src/pipeline/config.ts';
import { VisionPipeline } from '../../edge-agent/src/pipeline/vision-pipeline.ts';
import {
  buildScene,
  enrolmentPhoto,
  type GroundTruth,
  sampleFaces,
} from '../../provisioning/src/demo/clip.ts';
import { captureLogger } from '../helpers/logs.ts';
import { type RtspServer, startRtspServer } from '../helpers/rtsp-server.ts';
import { waitUntil } from '../helpers/wait.ts';
import { enrolGallery } from './gallery.ts';

const seconds = 19.5;
/** Walkers come out of the doorway and grow as they approach, crossing the middle of the frame downwards. */
const approach = (start: number, side: 'left' | 'right') => ({
  start,
  end: start + 4,
  from: side === 'left' ? ([570, 260] as const) : ([710, 260] as const),
  to: side === 'left' ? ([320, 470] as const) : ([960, 470] as const),
  heights: [150, 540] as const,
});

describe('walk-by at an entrance, end to end', () => {
  let dir: string;
  let pack: ModelPack;
  let cache: VectorCache;
  let outbox: Outbox;
  let server: RtspServer;
  let walk: GroundTruth;
  const { logger, lines } = captureLogger('info');
  let envelopes: EventEnvelope[] = [];
  let pipeline: VisionPipeline;
  /** Clip time (s) at which the decision's face first passed the gate. */
  let clipTime: (envelope: EventEnvelope) => number;
  let installerChecks: (() => Promise<void>) | null = null;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-walkby-'));
    [walk, pack] = await Promise.all([
      buildScene(dir, 'walk', {
        width: 1280,
        height: 720,
        fps: 10,
        seconds,
        walkers: [
          { name: 'ann', face: sampleFaces.s6Left, enrolled: true, ...approach(0.5, 'left') },
          { name: 'uno', face: sampleFaces.s2Right, enrolled: false, ...approach(1, 'right') },
          { name: 'bea', face: sampleFaces.s6Right, enrolled: true, ...approach(5, 'left') },
          { name: 'dos', face: sampleFaces.s3Left, enrolled: false, ...approach(5.5, 'right') },
          { name: 'ann', face: sampleFaces.s6Left, enrolled: true, ...approach(9.5, 'left') },
          { name: 'cat', face: sampleFaces.s4Left, enrolled: true, ...approach(10, 'right') },
        ],
        // Dee is enrolled but never walks by: only a printed photo of her is held up.
        print: { face: sampleFaces.s3Middle, start: 14.5, end: 19 },
      }),
      loadModelPack(defaultManifestPath, { logger }),
    ]);
    const enrolled = {
      ann: sampleFaces.s6Left,
      bea: sampleFaces.s6Right,
      cat: sampleFaces.s4Left,
      dee: sampleFaces.s3Middle,
    };
    cache = await enrolGallery(
      dir,
      pack,
      await Promise.all(
        Object.entries(enrolled).map(async ([personId, face]) => ({
          personId,
          photos: [await enrolmentPhoto(face)],
        })),
      ),
      logger,
    );
    outbox = Outbox.open({
      config: {
        path: join(dir, 'outbox.db'),
        maxBytes: 16 * 1024 * 1024,
        nearFullRatio: 0.8,
        reserveDiskBytes: 0,
      },
      key: randomBytes(32),
      identity: { site: 'hq', device: 'gate-1', privateKey: generateKeyPairSync('ed25519').privateKey },
      create: true,
      logger,
    });
    server = await startRtspServer({ file: walk.clip });

    const config = parseConfig(
      pipelineConfigSchema,
      {
        cameras: { front: { entrance: 'main', direction: { type: 'line', from: [0, 0.5], to: [1, 0.5] } } },
      },
      'walk-by test',
    );
    pipeline = new VisionPipeline(config, ['front'], {
      pack,
      gallery: cache,
      sink: {
        accept: async (decision) => {
          outbox.append(decision);
        },
      },
      logger,
    });
    const source = createCameraSource(
      parseConfig(rtspCameraSchema, { type: 'rtsp', id: 'front', url: server.url }, 'front camera'),
      { logger, ffmpegPath: '/usr/bin/ffmpeg', decode: { hwaccel: 'none' }, secrets: {} },
    );
    // Frames are kept at 5 per second of stream time, none dropped by the decoder: frame n shows clip time
    // (n - 1) / 5 s, whenever it arrived.
    const frameSeq = new Map<number, number>();
    let ended = false;
    source.on('frame', (frame: Frame) => frameSeq.set(frame.capturedAt, frame.seq));
    // The server plays the clip once per connection: the clip is over when the decoder ends.
    source.on('health', (health) => {
      if (health.state === 'backoff' && frameSeq.size > 0) ended = true;
    });
    const supervisor = new CameraSupervisor(
      [source],
      pipeline.analyse,
      parseConfig(supervisorConfigSchema, {}, 'test'),
      logger,
    );
    const installer = buildInstaller(parseConfig(installerConfigSchema, {}, 'test'), {
      cameraStats: () => supervisor.stats(),
      pipeline,
      logger,
    });
    pipeline.start();
    await supervisor.start();
    // While people walk by, what the installer view shows: a face with its measures, drawn on the frame.
    await waitUntil(
      () => (pipeline.view('front')?.faces.length ?? 0) > 0,
      'a face in view of the front camera',
      30_000,
    );
    const json = await installer.inject({ method: 'GET', url: '/api/cameras/front' });
    const jpeg = await installer.inject({ method: 'GET', url: '/cameras/front/frame.jpg' });
    installerChecks = async () => {
      assert.equal(json.statusCode, 200);
      const body = json.json();
      assert.ok(body.faces.length > 0);
      assert.ok(body.faces[0].interEyePx > 0 && body.faces[0].sharpness > 0);
      assert.ok(body.inputFps > 0 && body.framesDelivered > 0);
      assert.equal(jpeg.statusCode, 200);
      assert.equal(jpeg.headers['content-type'], 'image/jpeg');
      const meta = await sharp(jpeg.rawPayload).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 1280, 720]);
    };
    await waitUntil(() => ended, 'the clip played to its end', (seconds + 30) * 1000);
    clipTime = (envelope) => (frameSeq.get(Date.parse(envelope.capturedAt))! - 1) / 5;
    await supervisor.stop();
    await pipeline.stop();
    await installer.close();
    envelopes = outbox.pending(1000).map((event) => JSON.parse(event.body.toString('utf8')) as EventEnvelope);
  });

  after(async () => {
    await server?.stop();
    outbox?.close();
    cache?.close();
    await pack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const within = (t: number, window: { start: number; end: number }) =>
    t >= window.start - 0.5 && t <= window.end + 0.5;

  it('counts every enrolled walker exactly once, with the right id, when and where they walked in', () => {
    const attendance = envelopes.filter((e) => e.kind === 'attendance');
    assert.deepEqual(
      attendance.map((e) => e.personId).sort(),
      ['ann', 'bea', 'cat'],
      JSON.stringify(envelopes),
    );
    assert.ok(attendance.every((e) => e.camera === 'front'));
    for (const event of attendance) {
      const walker = walk.walkers.find((w) => w.name === event.personId && w.expected === 'attendance')!;
      assert.ok(within(clipTime(event), walker), `${event.personId} at ${clipTime(event)} s`);
      assert.equal(event.direction, 'in', `${event.personId} at ${clipTime(event)} s`);
      assert.equal(event.rosterSeq, 4);
      assert.equal(event.modelPack, pack.id);
      assert.ok(event.similarity !== null && event.similarity >= pack.thresholds.match);
      assert.ok(event.margin !== null && event.margin >= pack.thresholds.matchMargin);
    }
  });

  it('gives unknown, never a person id, for walkers who are not enrolled', () => {
    for (const event of envelopes.filter((e) => e.kind === 'unknown')) assert.equal(event.personId, null);
    for (const walker of walk.walkers.filter((w) => w.expected === 'unknown')) {
      const unknown = envelopes.filter((e) => e.kind === 'unknown' && within(clipTime(e), walker));
      assert.ok(unknown.length >= 1, `no unknown for ${walker.name}: ${JSON.stringify(envelopes)}`);
    }
  });

  it('recognises the re-entry within the interval and gives no second attendance', () => {
    const front = pipeline.stats().cameras.find((c) => c.cameraId === 'front')!;
    const decided = lines.filter(
      (line) => line.includes('"track decided"') || line.includes('already counted'),
    );
    assert.ok(front.duplicatesSuppressed >= 1, decided.join('\n'));
    assert.equal(envelopes.filter((e) => e.kind === 'attendance' && e.personId === 'ann').length, 1);
    assert.ok(lines.some((line) => line.includes('person already counted at this entrance')));
  });

  it('never counts the printed photo moved rigidly: spoof, or no attendance', () => {
    const card = walk.print!;
    const duringPrint = envelopes.filter((e) => within(clipTime(e), card));
    assert.ok(
      duringPrint.every((e) => e.kind !== 'attendance'),
      JSON.stringify(duringPrint),
    );
    assert.ok(envelopes.every((e) => e.kind !== 'attendance' || e.personId !== 'dee'));
  });

  it('stores signed, chained events and shows the installer what the camera sees', async () => {
    assert.deepEqual(
      envelopes.map((e) => e.seq),
      envelopes.map((_, i) => i + 1),
    );
    await installerChecks!();
  });
});
