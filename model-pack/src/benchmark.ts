// Speed of a model pack on this machine: each model alone at 1 and 2 threads, and the whole per-face cost
// (detect on a 1280x720 frame, landmarks, align, liveness, embed) on one thread. A benchmark, never a test.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Tensor } from './backends/backend.ts';
import { inferenceBackends } from './backends/index.ts';
import { ModelErrorCode, modelError } from './errors.ts';
import { defaultCacheDir } from './fetch.ts';
import { rgbFrame } from './image.ts';
import { loadManifest, type ModelRole } from './manifest.ts';
import { ModelPack } from './pack.ts';

export interface Latency {
  p50Ms: number;
  p95Ms: number;
}

export interface BenchResult {
  models: Partial<Record<ModelRole, { threads1: Latency; threads2: Latency }>>;
  perFace: { ms: number; facesPerSecondPerCore: number };
}

export interface BenchOptions {
  cacheDir?: string;
  /** Timed runs per measurement (after warm-up runs). */
  runs?: number;
  /** A photo with a face; the first group photo of @vladmandic/face-api when absent. */
  photo?: string;
}

const framesWidth = 1280;
const framesHeight = 720;

export const benchPhoto = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '@vladmandic',
  'face-api',
  'demo',
  'sample1.jpg',
);

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function time(runs: number, job: () => Promise<unknown>): Promise<Latency> {
  const warmup = Math.max(3, Math.floor(runs / 10));
  for (let i = 0; i < warmup; i++) await job();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await job();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 100) / 100;
  return { p50Ms: round(percentile(samples, 0.5)), p95Ms: round(percentile(samples, 0.95)) };
}

/** The input a model sees for a 1280x720 frame (dynamic-shape detectors get the letterboxed size). */
function benchInput(input: {
  width: number;
  height: number;
  layout: string;
  channels: string;
  sizeMultipleOf?: number | undefined;
}): Tensor {
  let { width, height } = input;
  if (input.sizeMultipleOf) {
    const s = Math.min(width / framesWidth, height / framesHeight);
    width = Math.ceil((framesWidth * s) / input.sizeMultipleOf) * input.sizeMultipleOf;
    height = Math.ceil((framesHeight * s) / input.sizeMultipleOf) * input.sizeMultipleOf;
  }
  const channels = input.channels === 'GREY' ? 1 : 3;
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.7) * 0.5;
  return {
    data,
    dims: input.layout === 'NCHW' ? [1, channels, height, width] : [1, height, width, channels],
  };
}

export async function benchmarkPack(manifestPath: string, options: BenchOptions = {}): Promise<BenchResult> {
  const cacheDir = options.cacheDir ?? defaultCacheDir;
  const runs = options.runs ?? 30;
  const loaded = await loadManifest(manifestPath, cacheDir);
  const models: BenchResult['models'] = {};
  for (const role of ['detector', 'landmarks', 'embedder', 'liveness'] as const) {
    const model = loaded.manifest.models[role];
    const path = loaded.files[role];
    if (!model || !path) continue;
    const bytes = await readFile(path);
    const latency: Partial<Record<'threads1' | 'threads2', Latency>> = {};
    for (const threads of [1, 2] as const) {
      const backend = inferenceBackends.onnxruntime({
        providers: ['cpu'],
        intraOpThreads: threads,
        interOpThreads: 1,
      });
      await backend.load(bytes);
      const name = model.input.name ?? backend.describe().inputs[0]!.name;
      const input = benchInput(model.input);
      latency[`threads${threads}`] = await time(runs, () => backend.run({ [name]: input }));
      await backend.dispose();
    }
    models[role] = { threads1: latency.threads1!, threads2: latency.threads2! };
  }

  const photo = options.photo ?? benchPhoto;
  const { data } = await sharp(await readFile(photo))
    .resize(framesWidth, framesHeight, { fit: 'cover' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const frame = rgbFrame(data, framesWidth, framesHeight);
  const pack = new ModelPack(loaded, { cacheDir, intraOpThreads: 1, interOpThreads: 1 });
  await pack.start();
  try {
    if ((await pack.detect(frame)).length === 0) {
      throw modelError(ModelErrorCode.evalDataInvalid, `no face found in the benchmark photo ${photo}`, {
        photo,
      });
    }
    // One step after the other, so that one core does all the work.
    const perFace = await time(runs, async () => {
      const [face] = await pack.detect(frame, { maxFaces: 1 });
      const aligned = pack.align(frame, face!);
      pack.quality(frame, face!, aligned);
      await pack.liveness(frame, face!);
      await pack.embed(aligned);
    });
    return {
      models,
      perFace: { ms: perFace.p50Ms, facesPerSecondPerCore: Math.round((1000 / perFace.p50Ms) * 10) / 10 },
    };
  } finally {
    await pack.stop();
  }
}
