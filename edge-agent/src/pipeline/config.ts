import { z } from 'zod';

const fraction = z.number().min(0).max(1);
const framePoint = z
  .tuple([fraction, fraction])
  .describe('A point as fractions of the frame: [x from the left, y from the top], each 0..1.');

export const directionRuleSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none').describe('No direction: events carry direction null.') }),
    z.strictObject({
      type: z.literal('fixed').describe('The camera only sees people going one way.'),
      value: z.enum(['in', 'out']).describe('The direction of every track of this camera.'),
    }),
    z.strictObject({
      type: z
        .literal('line')
        .describe(
          'A line on the image: crossing it from its left-hand side to its right-hand side (as seen walking from "from" to "to") is "in", the other way "out".',
        ),
      from: framePoint.describe('Start of the line, e.g. [0, 0.5] for the middle of the left edge.'),
      to: framePoint.describe('End of the line, e.g. [1, 0.5]: then walking down the image is "in".'),
    }),
    z.strictObject({
      type: z
        .literal('zone')
        .describe('A polygon on the image that is the inside: entering it is "in", leaving it "out".'),
      polygon: z.array(framePoint).min(3).max(32).describe('Corners of the inside zone, in order.'),
    }),
  ])
  .describe('How the direction of travel (in/out) is read from a track.');

/** Optional per-camera replacements of the model pack's quality limits (see the pack's manifest). */
export const qualityOverridesSchema = z
  .strictObject({
    minFacePx: z
      .number()
      .nonnegative()
      .optional()
      .describe('Smallest face box side, px (default: the pack’s).'),
    minInterEyePx: z
      .number()
      .nonnegative()
      .optional()
      .describe('Smallest distance between the eye centres, px (default: the pack’s).'),
    minSharpness: z
      .number()
      .nonnegative()
      .optional()
      .describe('Smallest variance of the Laplacian of the aligned face (default: the pack’s).'),
    minBrightness: z
      .number()
      .min(0)
      .max(255)
      .optional()
      .describe('Darkest accepted mean luma of the aligned face, 0..255 (default: the pack’s).'),
    maxBrightness: z
      .number()
      .min(0)
      .max(255)
      .optional()
      .describe('Brightest accepted mean luma of the aligned face, 0..255 (default: the pack’s).'),
    maxYawDeg: z
      .number()
      .min(0)
      .max(90)
      .optional()
      .describe('Largest head turn, degrees (default: the pack’s).'),
    maxPitchDeg: z
      .number()
      .min(0)
      .max(90)
      .optional()
      .describe('Largest head nod, degrees (default: the pack’s).'),
    maxRollDeg: z
      .number()
      .min(0)
      .max(180)
      .optional()
      .describe('Largest head tilt, degrees (default: the pack’s).'),
  })
  .describe('Quality gate of this camera: only faces within these limits are embedded.');

export const regionSchema = z
  .strictObject({
    x: fraction.describe('Left edge, fraction of the frame width.'),
    y: fraction.describe('Top edge, fraction of the frame height.'),
    width: z.number().gt(0).max(1).describe('Width, fraction of the frame width.'),
    height: z.number().gt(0).max(1).describe('Height, fraction of the frame height.'),
  })
  .refine((r) => r.x + r.width <= 1 + 1e-9 && r.y + r.height <= 1 + 1e-9, {
    message: 'the region must lie inside the frame (x + width <= 1, y + height <= 1)',
  })
  .describe('A part of the frame, as fractions.');

export const cameraPipelineSchema = z
  .strictObject({
    entrance: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/)
      .optional()
      .describe(
        'Entrance this camera watches; cameras of one entrance share duplicate suppression (default: the camera id).',
      ),
    direction: directionRuleSchema.prefault({ type: 'none' }),
    quality: qualityOverridesSchema.prefault({}),
    regions: z
      .array(regionSchema)
      .max(8)
      .default([])
      .describe(
        'Extra detection regions (e.g. the far doorway) searched at higher resolution besides the tiles.',
      ),
  })
  .describe('Pipeline settings of one camera, keyed by its id.');
export type CameraPipelineConfig = z.output<typeof cameraPipelineSchema>;

export const pipelineConfigSchema = z
  .strictObject({
    detection: z
      .strictObject({
        tileColumns: z
          .int()
          .min(1)
          .max(4)
          .default(2)
          .describe(
            'Columns of overlapping tiles also searched, so that far faces are large enough for the small detector input (1 with tileRows 1: no tiles).',
          ),
        tileRows: z.int().min(1).max(4).default(2).describe('Rows of detection tiles.'),
        tileOverlap: z
          .number()
          .min(0)
          .max(0.5)
          .default(0.25)
          .describe(
            'Overlap of neighbouring tiles, fraction of a tile, so a face on a seam is whole in one.',
          ),
        tileEvery: z
          .int()
          .min(1)
          .max(100)
          .default(10)
          .describe(
            'The tiles are searched on every n-th analysed frame to find far newcomers (each window costs one detector run); tracked far faces are followed every frame.',
          ),
        refineBelowPx: z
          .number()
          .min(0)
          .default(64)
          .describe(
            'A tracked face narrower than this (px) is searched again on every frame in a window around its predicted box, at a higher resolution.',
          ),
        maxFaces: z.int().min(1).max(64).default(16).describe('Most faces analysed per frame, best first.'),
      })
      .prefault({})
      .describe('Face detection on each analysed frame.'),
    tracker: z
      .strictObject({
        minIou: fraction
          .default(0.2)
          .describe('Least overlap of a predicted box and a detection for a match.'),
        maxCenterJump: z
          .number()
          .positive()
          .max(5)
          .default(1)
          .describe(
            'Small or fast faces: most centre distance (in box widths) from the predicted box for a match.',
          ),
        maxMissedFrames: z
          .int()
          .min(0)
          .max(50)
          .default(3)
          .describe(
            'A track ends after this many analysed frames without its face (short occlusions are bridged).',
          ),
        idleTimeoutMs: z
          .int()
          .min(100)
          .default(2000)
          .describe('With no frame from a camera for this long, its tracks end and are decided.'),
      })
      .prefault({})
      .describe('Tracking: one track per person crossing the view.'),
    decision: z
      .strictObject({
        budgetMs: z
          .int()
          .min(0)
          .max(10_000)
          .default(600)
          .describe(
            'A track is decided at most this long (frame time) after its face first passed the gate.',
          ),
        bestShots: z
          .int()
          .min(1)
          .max(10)
          .default(3)
          .describe('Best shots kept per track; the track is decided as soon as it has this many.'),
        minShots: z
          .int()
          .min(1)
          .max(10)
          .default(2)
          .describe('A track that ends with fewer gated shots than this gives no decision.'),
        searchK: z.int().min(2).max(50).default(5).describe('Identities fetched from the gallery per shot.'),
        matchThreshold: z
          .number()
          .min(-1)
          .max(1)
          .optional()
          .describe('Fused similarity needed for attendance (default: the model pack’s match threshold).'),
        matchMargin: z
          .number()
          .min(0)
          .max(2)
          .optional()
          .describe('Least lead over the second-best identity (default: the model pack’s margin).'),
        liveness: z
          .strictObject({
            liveHits: z
              .int()
              .min(1)
              .max(10)
              .default(2)
              .describe('How many of liveWindow consecutive faces must look live for a live track.'),
            liveWindow: z
              .int()
              .min(1)
              .max(20)
              .default(4)
              .describe(
                'Consecutive gated faces over which liveHits are counted (a sustained run, not one frame).',
              ),
            liveAbove: fraction
              .default(0.6)
              .describe(
                'Passive score (the liveHits-th highest P(live) of the best window) from which a track is live; calibrated for the default pack.',
              ),
            spoofBelow: fraction
              .default(0.45)
              .describe(
                'Final passive score under which a track is a spoof; in between, rigid motion decides.',
              ),
            minSamples: z
              .int()
              .min(1)
              .max(100)
              .default(5)
              .describe(
                'Fewest gated faces for a spoof verdict; a shorter track is unverified (no attendance).',
              ),
            maxWaitMs: z
              .int()
              .min(0)
              .max(60_000)
              .default(4000)
              .describe(
                'A recognised face whose track does not look live yet is watched this long after it first passed the gate; then the final verdict is taken.',
              ),
            rigidPoseDeg: z
              .number()
              .min(0)
              .max(45)
              .default(4)
              .describe(
                'Median change of estimated head pose between consecutive faces (degrees) under which a track moves like a flat picture.',
              ),
          })
          .prefault({})
          .describe(
            'Track-level liveness: the passive model over the track, plus a temporal cue for borderline tracks.',
          ),
        dedupIntervalMs: z
          .int()
          .min(0)
          .default(300_000)
          .describe('A person counted at an entrance within this long gives no second attendance there.'),
      })
      .prefault({})
      .describe('One decision per track: attendance, unknown or spoof.'),
    cameras: z
      .record(z.string(), cameraPipelineSchema)
      .default({})
      .describe('Per-camera settings keyed by camera id; a camera without an entry uses the defaults.'),
  })
  .describe('The vision pipeline: detection, tracking, quality gate and decisions.');
export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
