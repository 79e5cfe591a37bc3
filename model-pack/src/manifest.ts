// A model pack is data: this schema says what a manifest.json holds. A new pack whose decoders are already
// supported needs a manifest and files, no code.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describeIssues } from '@truepresence/protocol';
import { z } from 'zod';
import { ModelErrorCode, modelError } from './errors.ts';

const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/)
  .describe('sha256 of the file, 64 lower-case hex digits; checked at load.');

const inputSchema = z.strictObject({
  name: z.string().min(1).optional().describe('Input tensor name; the model’s first input when absent.'),
  width: z.number().int().positive().describe('Input width in pixels.'),
  height: z.number().int().positive().describe('Input height in pixels.'),
  layout: z.enum(['NCHW', 'NHWC']).describe('Tensor layout.'),
  channels: z.enum(['RGB', 'BGR', 'GREY']).describe('Pixel order (GREY: one luma channel).'),
  mean: z
    .array(z.number())
    .min(1)
    .max(3)
    .describe('Subtracted from 0..255 values, per channel or one for all.'),
  std: z
    .array(z.number().refine((v) => v !== 0, 'must not be 0'))
    .min(1)
    .max(3)
    .describe('Divisor applied after the mean, per channel or one for all.'),
});

const cropSchema = z.strictObject({
  scale: z.number().positive().describe('Crop size as a multiple of the face box.'),
  square: z.boolean().describe('Use max(width, height) of the box for both sides before scaling.'),
  border: z
    .enum(['shift', 'reflect', 'constant'])
    .describe(
      'shift: shrink the scale until the crop fits and move it inside the image (Silent-Face); reflect: mirror pixels past the edge; constant: black.',
    ),
});

const modelFile = {
  file: z
    .string()
    .min(1)
    .describe(
      'Model file: relative to the manifest, absolute, or "cache:NAME" inside the model cache directory.',
    ),
  sha256,
  licence: z.string().min(1).describe('Licence of the model file.'),
  origin: z.string().min(1).describe('Where the file comes from (package or repository, path, version).'),
};

const detectorSchema = z.strictObject({
  ...modelFile,
  input: inputSchema.extend({
    resize: z
      .enum(['stretch', 'letterbox'])
      .describe(
        'stretch: fill the input; letterbox: keep the aspect ratio, pad right and bottom with black.',
      ),
    sizeMultipleOf: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Dynamic-shape models: shrink the padded input to the letterboxed size rounded up to this.'),
  }),
  decoder: z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('ultraface'),
      scores: z.string().describe('Output [1,N,2]: background/face probabilities.'),
      boxes: z.string().describe('Output [1,N,4]: corner-form boxes normalised to the input.'),
    }),
    z.strictObject({
      kind: z.literal('yunet'),
      strides: z.array(z.number().int().positive()).min(1).describe('Feature strides, e.g. [8, 16, 32].'),
    }),
  ]),
});

const landmarksSchema = z.strictObject({
  ...modelFile,
  input: inputSchema,
  crop: cropSchema,
  decoder: z.strictObject({
    kind: z.literal('landmarks68'),
    output: z.string().describe('Output [1,136]: 68 (x, y) pairs normalised to the crop.'),
  }),
});

const embedderSchema = z.strictObject({
  ...modelFile,
  input: inputSchema.extend({
    width: z.literal(112).describe('Aligned face width (ArcFace 5-point template).'),
    height: z.literal(112).describe('Aligned face height (ArcFace 5-point template).'),
  }),
  decoder: z.strictObject({
    kind: z.literal('embedding'),
    output: z.string().describe('Output [1,D]: the raw embedding, L2-normalised by the pack.'),
    size: z.number().int().positive().describe('Embedding length D.'),
  }),
});

const livenessSchema = z.strictObject({
  ...modelFile,
  input: inputSchema,
  crop: cropSchema,
  decoder: z.strictObject({
    kind: z.literal('softmax'),
    output: z.string().describe('Output [1,K]: class logits.'),
    classes: z.number().int().min(2).describe('K, the number of classes.'),
    live: z
      .array(z.number().int().nonnegative())
      .min(1)
      .describe('Classes whose probabilities sum to P(live).'),
  }),
});

const thresholdsSchema = z.strictObject({
  detectionScore: z.number().min(0).max(1).describe('Minimum detector score of a face.'),
  nmsIou: z.number().min(0).max(1).describe('Boxes overlapping more than this IoU are merged by NMS.'),
  match: z
    .number()
    .min(-1)
    .max(1)
    .describe('Cosine similarity at or above which two faces are the same person.'),
  matchMargin: z
    .number()
    .min(0)
    .max(2)
    .describe('Minimum lead of the best identity over the second-best before a match is trusted.'),
  liveness: z.number().min(0).max(1).describe('P(live) at or above which a single face crop counts as live.'),
});

const qualitySchema = z.strictObject({
  minFacePx: z.number().nonnegative().describe('Smallest face box side in pixels.'),
  minInterEyePx: z.number().nonnegative().describe('Smallest distance between the eye centres in pixels.'),
  minSharpness: z.number().nonnegative().describe('Smallest variance of the Laplacian of the aligned face.'),
  minBrightness: z.number().min(0).max(255).describe('Darkest accepted mean luma of the aligned face.'),
  maxBrightness: z.number().min(0).max(255).describe('Brightest accepted mean luma of the aligned face.'),
  maxYawDeg: z.number().min(0).max(90).describe('Largest estimated head turn, degrees.'),
  maxPitchDeg: z.number().min(0).max(90).describe('Largest estimated head nod, degrees.'),
  maxRollDeg: z.number().min(0).max(180).describe('Largest in-plane head tilt, degrees.'),
});

export const manifestSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/)
      .describe('Pack name, recorded with every event.'),
    version: z.string().min(1).describe('Pack version, recorded with every event.'),
    description: z.string().describe('What this pack is.'),
    models: z.strictObject({
      detector: detectorSchema,
      landmarks: landmarksSchema.optional().describe('Needed when the detector gives no landmarks.'),
      embedder: embedderSchema,
      liveness: livenessSchema,
    }),
    thresholds: thresholdsSchema,
    quality: qualitySchema,
    notes: z.array(z.string()).describe('How the thresholds were chosen, and caveats.'),
  })
  .superRefine((manifest, ctx) => {
    if (manifest.models.detector.decoder.kind === 'ultraface' && !manifest.models.landmarks) {
      ctx.addIssue({
        code: 'custom',
        path: ['models', 'landmarks'],
        message: 'the ultraface detector gives no landmarks: add a landmarks model',
      });
    }
  });

export type ModelPackManifest = z.infer<typeof manifestSchema>;
/** The pack's id, `name@version`: what stores and events record as the pack embeddings come from. */
export function packId(manifest: Pick<ModelPackManifest, 'name' | 'version'>): string {
  return `${manifest.name}@${manifest.version}`;
}

export type ModelRole = 'detector' | 'landmarks' | 'embedder' | 'liveness';
export type ModelThresholds = ModelPackManifest['thresholds'];
export type ModelInput = z.infer<typeof inputSchema> & {
  resize?: 'stretch' | 'letterbox';
  sizeMultipleOf?: number | undefined;
};
export type QualityLimits = ModelPackManifest['quality'];

export interface LoadedManifest {
  path: string;
  manifest: ModelPackManifest;
  /** Absolute file path of each model the manifest names. */
  files: Partial<Record<ModelRole, string>>;
}

/** Where a manifest's `file` points: `cache:` paths live in the model cache directory. */
export function resolveModelFile(file: string, manifestDir: string, cacheDir: string): string {
  if (file.startsWith('cache:')) return join(cacheDir, file.slice('cache:'.length));
  return isAbsolute(file) ? file : resolve(manifestDir, file);
}

export function parseManifest(raw: unknown, source: string): ModelPackManifest {
  const result = manifestSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw modelError(
    ModelErrorCode.manifestInvalid,
    `invalid model pack manifest ${source}:\n  ${problems.join('\n  ')}`,
    { source, problems },
  );
}

export async function loadManifest(path: string, cacheDir: string): Promise<LoadedManifest> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw modelError(
      ModelErrorCode.manifestUnreadable,
      `cannot read model pack manifest ${path}: ${(cause as Error).message}`,
      { path },
      cause,
    );
  }
  const manifest = parseManifest(raw, path);
  const dir = dirname(resolve(path));
  const files: LoadedManifest['files'] = {};
  for (const [role, model] of Object.entries(manifest.models) as Array<
    [ModelRole, { file: string } | undefined]
  >) {
    if (model) files[role] = resolveModelFile(model.file, dir, cacheDir);
  }
  return { path: resolve(path), manifest, files };
}

/** The bundled packs. */
export const defaultManifestPath = join(import.meta.dirname, '..', 'packs', 'default', 'manifest.json');
export const yunetMinifasManifestPath = join(
  import.meta.dirname,
  '..',
  'packs',
  'yunet-minifas',
  'manifest.json',
);
