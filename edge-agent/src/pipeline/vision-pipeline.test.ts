import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultManifestPath, loadModelPack, type ModelPack } from '@truepresence/model-pack';
import { parseConfig } from '@truepresence/protocol';
import sharp from 'sharp';
import { enrolmentPhoto, sampleFaces } from '../../../provisioning/src/demo/clip.ts';
import { facePhotos } from '../../../test/helpers/clips.ts';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { waitUntil } from '../../../test/helpers/wait.ts';
import { enrolGallery } from '../../../test/walkby/gallery.ts';
import type { VectorCache } from '../cache/vector-cache.ts';
import type { Frame } from '../camera/types.ts';
import { pipelineConfigSchema } from './config.ts';
import type { Decision } from './types.ts';
import { VisionPipeline } from './vision-pipeline.ts';

const width = 640;
const height = 360;
const face = sampleFaces.s4Left;

/** A person walking towards a small camera: views of a real photo closing in on one face. */
async function walk(startAt: number, count: number): Promise<Frame[]> {
  const [x1, y1, x2, y2] = face.box;
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2;
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      // From 3.6 to 2.6 face widths wide (no other face in view), drifting right.
      const w = Math.round((x2 - x1) * (3.6 - i * 0.12));
      const h = Math.round((w * 9) / 16);
      const data = await sharp(facePhotos[face.photo - 1]!)
        .extract({ left: Math.round(cx - w / 2 - i * 6), top: Math.round(cy - h / 2), width: w, height: h })
        .resize(width, height)
        .removeAlpha()
        .raw()
        .toBuffer();
      return { data, width, height, capturedAt: startAt + i * 200, seq: i + 1 };
    }),
  );
}

/** Frames of the empty scene. */
async function empty(startAt: number, count: number): Promise<Frame[]> {
  const data = await sharp({ create: { width, height, channels: 3, background: '#77736b' } })
    .raw()
    .toBuffer();
  return Array.from({ length: count }, (_, i) => ({
    data,
    width,
    height,
    capturedAt: startAt + i * 200,
    seq: i,
  }));
}

describe('VisionPipeline', () => {
  let dir: string;
  let pack: ModelPack;
  let cache: VectorCache;
  const config = parseConfig(
    pipelineConfigSchema,
    { detection: { tileColumns: 1, tileRows: 1 }, tracker: { idleTimeoutMs: 200 } },
    'test',
  );

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tp-pipeline-'));
    pack = await loadModelPack(defaultManifestPath);
    cache = await enrolGallery(
      dir,
      pack,
      [{ personId: 'cat', photos: [await enrolmentPhoto(face)] }],
      captureLogger().logger,
    );
  });

  after(async () => {
    cache.close();
    await pack.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('decides once per track, and a decision the sink could not store does not count as seen', async () => {
    const { logger, lines } = captureLogger('info');
    const stored: Decision[] = [];
    let refuse = true;
    const pipeline = new VisionPipeline(config, ['front'], {
      pack,
      gallery: cache,
      logger,
      sink: {
        accept: async (decision) => {
          if (refuse) {
            refuse = false;
            throw new Error('disk full');
          }
          stored.push(decision);
        },
      },
    });
    const t0 = Date.UTC(2025, 5, 2, 8, 0, 0);
    // Three passes of the same person, each followed by an empty scene long enough to end the track.
    for (const start of [t0, t0 + 10_000, t0 + 20_000]) {
      for (const frame of [...(await walk(start, 8)), ...(await empty(start + 1600, 6))]) {
        await pipeline.analyse('front', frame);
      }
    }
    await pipeline.stop();
    const [front] = pipeline.stats().cameras;
    assert.equal(front?.decisionsLost, 1);
    assert.ok(lines.some((line) => line.includes('TP_AGENT_PIPELINE_DECISION_LOST')));
    // The refused first pass was forgotten: the second one counts, the third is a duplicate.
    assert.deepEqual(
      stored.map((d) => [d.kind, d.personId, d.capturedAt]),
      [['attendance', 'cat', new Date(t0 + 10_000).toISOString()]],
    );
    assert.equal(front?.duplicatesSuppressed, 1);
    assert.equal(stored[0]?.modelPack, pack.id);
    assert.equal(stored[0]?.rosterSeq, 1);
    assert.ok((stored[0]?.liveness ?? 0) >= config.decision.liveness.liveAbove);
  });

  it('decides the tracks of a camera that went quiet, without counting a face too briefly seen to check', async () => {
    const stored: Decision[] = [];
    const quick = parseConfig(
      pipelineConfigSchema,
      {
        detection: { tileColumns: 1, tileRows: 1 },
        tracker: { idleTimeoutMs: 200 },
        decision: { minShots: 1 },
      },
      'test',
    );
    const pipeline = new VisionPipeline(quick, ['front'], {
      pack,
      gallery: cache,
      logger: captureLogger().logger,
      sink: { accept: async (decision) => void stored.push(decision) },
    });
    pipeline.start();
    // One frame, then nothing: the camera stalled.
    const [frame] = await walk(Date.now(), 1);
    await pipeline.analyse('front', frame!);
    assert.equal(stored.length, 0);
    await waitUntil(() => stored.length > 0, 'the idle watch to end the track');
    await pipeline.stop();
    // Recognised (similarity above the threshold) but one face cannot show liveness: no attendance.
    assert.equal(stored.length, 1);
    assert.deepEqual([stored[0]?.kind, stored[0]?.personId], ['unknown', null]);
    assert.ok((stored[0]?.similarity ?? 0) >= pack.thresholds.match);
  });

  it('locates and measures a decided track’s face again only while the installer view is watched', async () => {
    let aligned = 0;
    let located = 0;
    const counting = new Proxy(pack, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== 'function') return value;
        if (key === 'align') {
          return (...args: Parameters<ModelPack['align']>) => {
            aligned += 1;
            return target.align(...args);
          };
        }
        if (key === 'locate') {
          return (...args: Parameters<ModelPack['locate']>) => {
            located += 1;
            return target.locate(...args);
          };
        }
        return (value as (...args: unknown[]) => unknown).bind(target);
      },
    });
    const stored: Decision[] = [];
    const pipeline = new VisionPipeline(config, ['front'], {
      pack: counting,
      gallery: cache,
      logger: captureLogger().logger,
      sink: { accept: async (decision) => void stored.push(decision) },
    });
    const frames = await walk(Date.UTC(2025, 5, 3, 8, 0, 0), 8);
    let i = 0;
    while (stored.length === 0 && i < 5) await pipeline.analyse('front', frames[i++]!);
    assert.equal(stored[0]?.kind, 'attendance', 'decided on the first frames');
    const before = { aligned, located };
    await pipeline.analyse('front', frames[i++]!);
    await pipeline.analyse('front', frames[i++]!);
    assert.deepEqual(
      { aligned, located },
      before,
      'no landmarks or measuring for a decided track nobody watches',
    );
    assert.ok(pipeline.view('front')?.faces[0]?.verdict, 'the view still shows the face with its verdict');
    await pipeline.analyse('front', frames[i++]!);
    assert.deepEqual(
      { aligned, located },
      { aligned: before.aligned + 1, located: before.located + 1 },
      'located and measured again while watched',
    );
    await pipeline.stop();
  });

  it('ignores frames of a camera it was not configured for', async () => {
    const pipeline = new VisionPipeline(config, ['front'], {
      pack,
      gallery: cache,
      logger: captureLogger().logger,
      sink: { accept: async () => assert.fail('no decision expected') },
    });
    const [frame] = await walk(Date.now(), 1);
    await pipeline.analyse('back', frame!);
    assert.equal(pipeline.view('back'), undefined);
    assert.equal(pipeline.stats().cameras[0]?.framesAnalysed, 0);
    await pipeline.stop();
  });
});
