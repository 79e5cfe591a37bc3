// A loaded model pack: the face pipeline (detect, landmarks, align, embed, liveness, quality) over the
// models a manifest names, each behind the InferenceBackend interface.
import { readFile } from 'node:fs/promises';
import { createLogger, type Logger } from '@truepresence/protocol';
import type {
  BackendDescription,
  ExecutionProvider,
  InferenceBackend,
  ProviderFallback,
  Tensor,
} from './backends/backend.ts';
import { type InferenceBackendName, inferenceBackends } from './backends/index.ts';
import { sha256Hex } from './checksum.ts';
import type { Candidate } from './decoders/candidate.ts';
import { decodeUltraface } from './decoders/ultraface.ts';
import { decodeYunet } from './decoders/yunet.ts';
import { ModelErrorCode, modelError } from './errors.ts';
import { defaultCacheDir } from './fetch.ts';
import {
  arcfaceTemplate112,
  type Box,
  estimateSimilarity,
  invertAffine,
  type Landmarks5,
  nonMaxSuppression,
  type Point,
  scaleBox,
  shiftedCrop,
} from './geometry.ts';
import type { RgbImage } from './image.ts';
import {
  type LoadedManifest,
  loadManifest,
  type ModelInput,
  type ModelPackManifest,
  type ModelRole,
  type ModelThresholds,
  packId,
  type QualityLimits,
} from './manifest.ts';
import { type FaceQuality, measureQuality, type QualityIssue, qualityIssues } from './quality.ts';
import { type Border, rgbToTensor, type TensorFormat, warpAffine } from './resample.ts';
import { resizeCrop } from './resize.ts';
import { ScratchPool } from './scratch-pool.ts';
import { l2Normalize } from './similarity.ts';

export interface Face {
  /** Face box in image pixels. */
  box: Box;
  /** Detector confidence, 0..1. */
  score: number;
  /** Eyes, nose tip and mouth corners in image pixels (ArcFace template order). */
  landmarks: Landmarks5;
}

/** A detected face before its landmarks are known (a detector without landmark outputs gives none). */
export interface FaceCandidate {
  box: Box;
  score: number;
  landmarks?: Landmarks5;
}

export interface DetectOptions {
  /** Only look inside this part of the image (e.g. the doorway of a wide camera view); image pixels. */
  roi?: Box;
  /** Keep at most this many faces, best score first. */
  maxFaces?: number;
}

/** Everything the pipeline knows about one face after detection. */
export interface FaceAnalysis {
  aligned: RgbImage;
  quality: FaceQuality;
  qualityIssues: QualityIssue[];
  /** P(live) of this single crop; compare with `thresholds.liveness`. */
  liveness: number;
  /** L2-normalised embedding. */
  embedding: Float32Array;
}

export interface ModelPackOptions {
  /** Directory that `cache:` files of the manifest live in (see `truepresence-models fetch`). */
  cacheDir?: string;
  backend?: InferenceBackendName;
  /** Wanted execution providers, best first; a missing one falls back to CPU with one log line. */
  providers?: readonly ExecutionProvider[];
  intraOpThreads?: number;
  interOpThreads?: number;
  logger?: Logger;
}

export const alignedSize = 112;
const maxBatch = 8;

interface Runner {
  backend: InferenceBackend;
  input: string;
  /** Batch dimension is dynamic: several crops go through one run. */
  batched: boolean;
  scratch: ScratchPool;
}

function format(input: ModelInput): TensorFormat {
  return { layout: input.layout, channels: input.channels, mean: input.mean, std: input.std };
}

function elementsPerImage(input: { width: number; height: number; channels: string }): number {
  return input.width * input.height * (input.channels === 'GREY' ? 1 : 3);
}

function dims(layout: string, batch: number, channels: number, height: number, width: number): number[] {
  return layout === 'NCHW' ? [batch, channels, height, width] : [batch, height, width, channels];
}

function softmax(logits: Float32Array, offset: number, count: number, out: number[]): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) max = Math.max(max, logits[offset + i]!);
  let sum = 0;
  for (let i = 0; i < count; i++) {
    out[i] = Math.exp(logits[offset + i]! - max);
    sum += out[i]!;
  }
  for (let i = 0; i < count; i++) out[i] = out[i]! / sum;
}

/** 68-point model -> 5 points (0-based indices): eye centres, nose tip, mouth corners. */
function fivePointsFrom68(points: Float32Array, crop: Box): Landmarks5 {
  const p = (i: number): Point => ({
    x: crop.x + points[2 * i]! * crop.width,
    y: crop.y + points[2 * i + 1]! * crop.height,
  });
  const mean = (...idx: number[]): Point => {
    let x = 0;
    let y = 0;
    for (const i of idx) {
      const q = p(i);
      x += q.x;
      y += q.y;
    }
    return { x: x / idx.length, y: y / idx.length };
  };
  return [mean(37, 38, 40, 41), mean(43, 44, 46, 47), p(30), mean(48, 60), mean(54, 64)];
}

function clampRoi(roi: Box | undefined, image: RgbImage): Box {
  if (!roi) return { x: 0, y: 0, width: image.width, height: image.height };
  const x = Math.max(0, Math.min(image.width - 1, Math.floor(roi.x)));
  const y = Math.max(0, Math.min(image.height - 1, Math.floor(roi.y)));
  const width = Math.max(1, Math.min(image.width - x, Math.ceil(roi.width)));
  const height = Math.max(1, Math.min(image.height - y, Math.ceil(roi.height)));
  return { x, y, width, height };
}

export class ModelPack {
  readonly loaded: LoadedManifest;
  readonly manifest: ModelPackManifest;
  readonly thresholds: ModelThresholds;
  readonly qualityLimits: QualityLimits;
  private readonly options: ModelPackOptions;
  private readonly logger: Logger;
  private runners: Partial<Record<ModelRole, Runner>> = {};
  private started = false;

  constructor(loaded: LoadedManifest, options: ModelPackOptions = {}) {
    this.loaded = loaded;
    this.manifest = loaded.manifest;
    this.thresholds = loaded.manifest.thresholds;
    this.qualityLimits = loaded.manifest.quality;
    this.options = options;
    this.logger = (options.logger ?? createLogger({ name: 'model-pack', level: 'silent' })).child({
      component: 'model-pack',
      pack: loaded.manifest.name,
    });
  }

  /** `name@version`, recorded with every event. */
  get id(): string {
    return packId(this.manifest);
  }

  get embeddingSize(): number {
    return this.manifest.models.embedder.decoder.size;
  }

  /** Verifies each file's sha256 and loads it; the first model settles the execution providers. */
  async start(): Promise<void> {
    if (this.started) return;
    const factory = inferenceBackends[this.options.backend ?? 'onnxruntime'];
    if (!factory) {
      throw modelError(ModelErrorCode.backendUnknown, `unknown inference backend ${this.options.backend}`, {
        backend: this.options.backend,
        known: Object.keys(inferenceBackends),
      });
    }
    const requested = this.options.providers ?? ['cpu'];
    let providers: readonly ExecutionProvider[] = requested;
    let fallbacks: readonly ProviderFallback[] = [];
    try {
      for (const role of ['detector', 'landmarks', 'embedder', 'liveness'] as const) {
        const model = this.manifest.models[role];
        const path = this.loaded.files[role];
        if (!model || !path) continue;
        const bytes = await this.readVerified(role, path, model.sha256, model.file);
        const backend = factory({
          providers,
          intraOpThreads: this.options.intraOpThreads ?? 1,
          interOpThreads: this.options.interOpThreads ?? 1,
        });
        await backend.load(bytes);
        const description = backend.describe();
        if (role === 'detector') {
          providers = description.providers as ExecutionProvider[];
          fallbacks = description.fallbacks;
        }
        this.checkOutputs(role, description);
        this.runners[role] = this.makeRunner(role, backend, description, model.input);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.started = true;
    const line = `model pack ${this.id}: execution providers asked [${requested.join(', ')}], running [${providers.join(', ')}]`;
    if (fallbacks.length > 0) {
      this.logger.warn(
        { requested, running: providers, fallbacks },
        `${line}; fell back: ${fallbacks.map((f) => `${f.provider} (${f.reason})`).join('; ')}`,
      );
    } else {
      this.logger.info({ requested, running: providers }, line);
    }
  }

  async stop(): Promise<void> {
    const runners = Object.values(this.runners);
    this.runners = {};
    this.started = false;
    for (const runner of runners) await runner.backend.dispose();
  }

  /** What each model runs on (providers, threads, inputs, outputs). */
  describe(): Partial<Record<ModelRole, BackendDescription>> {
    const out: Partial<Record<ModelRole, BackendDescription>> = {};
    for (const [role, runner] of Object.entries(this.runners) as Array<[ModelRole, Runner]>) {
      out[role] = runner.backend.describe();
    }
    return out;
  }

  private async readVerified(
    role: ModelRole,
    path: string,
    expected: string,
    file: string,
  ): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (cause) {
      const hint = file.startsWith('cache:')
        ? '; run `npm install` or `npx truepresence-models fetch` to prepare the model cache'
        : '';
      throw modelError(
        ModelErrorCode.fileMissing,
        `model file of ${role} (${path}) cannot be read${hint}`,
        { role, path },
        cause,
      );
    }
    const actual = sha256Hex(bytes);
    if (actual !== expected) {
      throw modelError(
        ModelErrorCode.checksumMismatch,
        `model file of ${role} (${path}) has sha256 ${actual}, but the manifest ${this.loaded.path} expects ${expected}; refusing to load it`,
        { role, path, expected, actual },
      );
    }
    return bytes;
  }

  /** Every output the manifest's decoder reads must exist, so a wrong manifest fails at start, not per frame. */
  private checkOutputs(role: ModelRole, description: BackendDescription): void {
    const models = this.manifest.models;
    const wanted: string[] = [];
    if (role === 'detector') {
      const decoder = models.detector.decoder;
      if (decoder.kind === 'ultraface') wanted.push(decoder.scores, decoder.boxes);
      else for (const s of decoder.strides) wanted.push(`cls_${s}`, `obj_${s}`, `bbox_${s}`, `kps_${s}`);
    } else {
      wanted.push(models[role]!.decoder.output);
    }
    const names = new Set(description.outputs.map((o) => o.name));
    const missing = wanted.filter((name) => !names.has(name));
    if (missing.length > 0) {
      throw modelError(
        ModelErrorCode.manifestInvalid,
        `${role}: the manifest reads output(s) ${missing.join(', ')}, the model has ${[...names].join(', ')}`,
        { role, missing },
      );
    }
  }

  private makeRunner(
    role: ModelRole,
    backend: InferenceBackend,
    description: BackendDescription,
    input: ModelInput,
  ): Runner {
    const info = input.name ? description.inputs.find((i) => i.name === input.name) : description.inputs[0];
    if (!info) {
      throw modelError(
        ModelErrorCode.manifestInvalid,
        `${role}: model has no input ${input.name ?? '(none)'}; inputs are ${description.inputs.map((i) => i.name).join(', ')}`,
        { role },
      );
    }
    const shape = info.shape;
    const channels = input.channels === 'GREY' ? 1 : 3;
    const expected = dims(input.layout, 1, channels, input.height, input.width);
    const mismatch = expected.findIndex(
      (value, i) => i > 0 && typeof shape[i] === 'number' && shape[i] !== value,
    );
    if (shape.length !== 4 || mismatch !== -1) {
      throw modelError(
        ModelErrorCode.manifestInvalid,
        `${role}: model input ${info.name} has shape [${shape.join(',')}], the manifest describes [${expected.join(',')}] (${input.layout})`,
        { role, shape, expected },
      );
    }
    const batched = typeof shape[0] === 'string';
    const size = elementsPerImage(input);
    return {
      backend,
      input: info.name,
      batched,
      scratch: new ScratchPool(batched && role !== 'detector' ? size * maxBatch : size),
    };
  }

  private runner(role: ModelRole): Runner {
    const runner = this.runners[role];
    if (!runner)
      throw modelError(ModelErrorCode.notStarted, `model pack ${this.id} is not started (no ${role})`);
    return runner;
  }

  /** Faces in the image, best score first, each with a box and five landmarks. */
  async detect(image: RgbImage, options: DetectOptions = {}): Promise<Face[]> {
    const candidates = await this.findFaces(image, options);
    return Promise.all(candidates.map((candidate) => this.locate(image, candidate)));
  }

  /**
   * Faces in the image, best score first, with landmarks only where the detector gives them: the caller
   * can merge, track or drop candidates before paying for `locate` (a landmarks model run per face).
   */
  async findFaces(image: RgbImage, options: DetectOptions = {}): Promise<FaceCandidate[]> {
    const runner = this.runner('detector');
    const model = this.manifest.models.detector;
    const input = model.input;
    const roi = clampRoi(options.roi, image);

    let tensorW = input.width;
    let tensorH = input.height;
    let region = { x: 0, y: 0, width: tensorW, height: tensorH };
    if (input.resize === 'letterbox') {
      const s = Math.min(input.width / roi.width, input.height / roi.height);
      const fitW = Math.max(1, Math.round(roi.width * s));
      const fitH = Math.max(1, Math.round(roi.height * s));
      if (input.sizeMultipleOf) {
        tensorW = Math.ceil(fitW / input.sizeMultipleOf) * input.sizeMultipleOf;
        tensorH = Math.ceil(fitH / input.sizeMultipleOf) * input.sizeMultipleOf;
      }
      region = { x: 0, y: 0, width: fitW, height: fitH };
    }
    const sx = region.width / roi.width;
    const sy = region.height / roi.height;

    const pixels = await resizeCrop(image, roi, region.width, region.height);
    const candidates = await runner.scratch.use(async ({ buffer }) => {
      rgbToTensor(
        pixels,
        { data: buffer, offset: 0, width: tensorW, height: tensorH, format: format(input) },
        region,
      );
      const channels = input.channels === 'GREY' ? 1 : 3;
      const tensor: Tensor = {
        data: buffer.subarray(0, tensorW * tensorH * channels),
        dims: dims(input.layout, 1, channels, tensorH, tensorW),
      };
      const outputs = await runner.backend.run({ [runner.input]: tensor });
      const threshold = this.thresholds.detectionScore;
      const decoder = model.decoder;
      return decoder.kind === 'ultraface'
        ? decodeUltraface(outputs, decoder, tensorW, tensorH, threshold)
        : decodeYunet(outputs, decoder, tensorW, tensorH, threshold);
    });

    const toImage = (p: Point): Point => ({ x: roi.x + p.x / sx, y: roi.y + p.y / sy });
    const mapped: Candidate[] = candidates.map((c) => {
      const topLeft = toImage(c.box);
      const box = { x: topLeft.x, y: topLeft.y, width: c.box.width / sx, height: c.box.height / sy };
      return c.landmarks
        ? { box, score: c.score, landmarks: c.landmarks.map(toImage) }
        : { box, score: c.score };
    });
    const kept = nonMaxSuppression(
      mapped.map((c) => c.box),
      mapped.map((c) => c.score),
      this.thresholds.nmsIou,
      options.maxFaces,
    );
    return kept.map((i) => {
      const c = mapped[i]!;
      // A landmarks model, when the pack has one, is preferred over the detector's own points.
      return c.landmarks && !this.runners.landmarks
        ? { box: c.box, score: c.score, landmarks: c.landmarks as unknown as Landmarks5 }
        : { box: c.box, score: c.score };
    });
  }

  /** The candidate as a face with its five landmarks (from the landmarks model unless the detector gave them). */
  async locate(image: RgbImage, candidate: FaceCandidate): Promise<Face> {
    const landmarks = candidate.landmarks ?? (await this.landmarks(image, candidate.box));
    return { box: candidate.box, score: candidate.score, landmarks };
  }

  /** Five landmarks of the face in `box`, from the landmarks model. */
  private async landmarks(image: RgbImage, box: Box): Promise<Landmarks5> {
    const runner = this.runner('landmarks');
    const model = this.manifest.models.landmarks!;
    const crop = this.crop(image, box, model.crop);
    return runner.scratch.use(async ({ buffer, resampler }) => {
      const { input } = model;
      resampler.toTensor(
        image,
        crop.box,
        { data: buffer, offset: 0, width: input.width, height: input.height, format: format(input) },
        crop.border,
      );
      const tensor: Tensor = {
        data: buffer.subarray(0, elementsPerImage(input)),
        dims: dims(input.layout, 1, 1, input.height, input.width),
      };
      const outputs = await runner.backend.run({ [runner.input]: tensor });
      const points = outputs[model.decoder.output];
      if (!points || points.data.length < 136) {
        throw modelError(
          ModelErrorCode.outputInvalid,
          `landmarks output ${model.decoder.output} is not [1,136]`,
        );
      }
      return fivePointsFrom68(points.data, crop.box);
    });
  }

  private crop(
    image: RgbImage,
    box: Box,
    spec: { scale: number; square: boolean; border: 'shift' | 'reflect' | 'constant' },
  ): { box: Box; border: Border } {
    if (spec.border === 'shift') {
      return { box: shiftedCrop(box, spec.scale, spec.square, image.width, image.height), border: 'clamp' };
    }
    return { box: scaleBox(box, spec.scale, spec.square), border: spec.border };
  }

  /** The face warped onto the ArcFace 5-point template: a 112x112 RGB image. */
  align(image: RgbImage, face: Pick<Face, 'landmarks'>): RgbImage {
    const toTemplate = estimateSimilarity(face.landmarks, arcfaceTemplate112);
    const data = new Uint8Array(alignedSize * alignedSize * 3);
    warpAffine(image, invertAffine(toTemplate), alignedSize, alignedSize, data);
    return { data, width: alignedSize, height: alignedSize };
  }

  /** L2-normalised embedding of an aligned face. */
  async embed(aligned: RgbImage): Promise<Float32Array> {
    const [embedding] = await this.embedMany([aligned]);
    return embedding!;
  }

  /** Embeddings of several aligned faces (one batched run where the model allows it). */
  async embedMany(aligned: readonly RgbImage[]): Promise<Float32Array[]> {
    const model = this.manifest.models.embedder;
    const full = (image: RgbImage): Box => ({ x: 0, y: 0, width: image.width, height: image.height });
    const outputs = await this.runCrops(
      'embedder',
      aligned.map((image) => ({ image, box: full(image), border: 'clamp' as Border })),
      model.decoder.output,
      model.decoder.size,
    );
    return outputs.map((raw) => l2Normalize(raw));
  }

  /** P(live) of the face as one crop sees it: a single-frame score, not a decision on its own. */
  async liveness(image: RgbImage, face: Pick<Face, 'box'>): Promise<number> {
    const [score] = await this.livenessMany(image, [face]);
    return score!;
  }

  async livenessMany(image: RgbImage, faces: ReadonlyArray<Pick<Face, 'box'>>): Promise<number[]> {
    const model = this.manifest.models.liveness;
    const { classes, live, output } = model.decoder;
    const logits = await this.runCrops(
      'liveness',
      faces.map((face) => ({ image, ...this.crop(image, face.box, model.crop) })),
      output,
      classes,
    );
    const probabilities = new Array<number>(classes).fill(0);
    return logits.map((row) => {
      softmax(row, 0, classes, probabilities);
      return live.reduce((sum, k) => sum + (probabilities[k] ?? 0), 0);
    });
  }

  /** Resamples crops into the role's input tensor (batched when the model allows) and returns each output row. */
  private async runCrops(
    role: 'embedder' | 'liveness',
    crops: ReadonlyArray<{ image: RgbImage; box: Box; border: Border }>,
    outputName: string,
    rowLength: number,
  ): Promise<Float32Array[]> {
    const runner = this.runner(role);
    const input = this.manifest.models[role].input;
    const per = elementsPerImage(input);
    const channels = input.channels === 'GREY' ? 1 : 3;
    const batch = runner.batched ? maxBatch : 1;
    const rows: Float32Array[] = [];
    for (let start = 0; start < crops.length; start += batch) {
      const chunk = crops.slice(start, start + batch);
      const result = await runner.scratch.use(async ({ buffer, resampler }) => {
        chunk.forEach((crop, i) => {
          resampler.toTensor(
            crop.image,
            crop.box,
            {
              data: buffer,
              offset: i * per,
              width: input.width,
              height: input.height,
              format: format(input),
            },
            crop.border,
          );
        });
        const tensor: Tensor = {
          data: buffer.subarray(0, chunk.length * per),
          dims: dims(input.layout, chunk.length, channels, input.height, input.width),
        };
        const outputs = await runner.backend.run({ [runner.input]: tensor });
        const out = outputs[outputName];
        if (!out || out.data.length !== chunk.length * rowLength) {
          throw modelError(
            ModelErrorCode.outputInvalid,
            `${role} output ${outputName} has ${out?.data.length ?? 0} values, expected ${chunk.length}x${rowLength}`,
          );
        }
        return out.data;
      });
      for (let i = 0; i < chunk.length; i++) rows.push(result.slice(i * rowLength, (i + 1) * rowLength));
    }
    return rows;
  }

  /** Quality measures of a detected face (alignment is computed when not given). */
  quality(image: RgbImage, face: Face, aligned?: RgbImage): FaceQuality {
    return measureQuality(face.box, face.landmarks, aligned ?? this.align(image, face));
  }

  /** The quality limits of this pack that `quality` misses. */
  qualityIssues(quality: FaceQuality): QualityIssue[] {
    return qualityIssues(quality, this.qualityLimits);
  }

  /** Align, measure quality, score liveness and embed one detected face. */
  async analyze(image: RgbImage, face: Face): Promise<FaceAnalysis> {
    const aligned = this.align(image, face);
    const quality = this.quality(image, face, aligned);
    const [liveness, embedding] = await Promise.all([this.liveness(image, face), this.embed(aligned)]);
    return { aligned, quality, qualityIssues: this.qualityIssues(quality), liveness, embedding };
  }
}

/** Reads a manifest, verifies and loads its models: the entry point of the agent and the hub. */
export async function loadModelPack(
  manifestPath: string,
  options: ModelPackOptions = {},
): Promise<ModelPack> {
  const loaded = await loadManifest(manifestPath, options.cacheDir ?? defaultCacheDir);
  const pack = new ModelPack(loaded, options);
  await pack.start();
  return pack;
}
