// `npm run -s eval -- --data DIR --only walkby`: the whole vision pipeline on the walk-by video of the data
// folder (and its printed-photo attack), scored against the ground truth beside the videos.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultManifestPath, loadModelPack, type ModelPack } from '@truepresence/model-pack';
import { createLogger, type Logger, parseConfig } from '@truepresence/protocol';
import { type PipelineConfig, pipelineConfigSchema } from '../../edge-agent/src/pipeline/config.ts';
import type { Decision, Gallery } from '../../edge-agent/src/pipeline/types.ts';
import { VisionPipeline } from '../../edge-agent/src/pipeline/vision-pipeline.ts';
import type { EvalContext } from '../eval.ts';
import type { Section } from '../report.ts';
import { decodeClip } from './frames.ts';
import { enrolGallery } from './gallery.ts';

/** Analysis rate of the evaluation, as a camera would be configured. */
const fps = 5;
/** Decisions carry the time the face first passed the gate; a walker's window is widened by this much. */
const slackS = 0.25;
const clipStart = Date.UTC(2025, 0, 6, 8, 0, 0);

export interface Appearance {
  id: string;
  /** Identity shown; `expected` is that identity for an enrolled walker, "unknown" otherwise. */
  identity: string;
  expected: string;
  t_start: number;
  t_end: number;
}

export interface TimedDecision extends Decision {
  /** Seconds from the start of the clip. */
  t: number;
}

export interface WalkbyScore {
  walkers: number;
  correct: number;
  wrongIdentity: number;
  missed: number;
  falsePresent: number;
  duplicates: number;
  spoofAccepted: number;
}

/**
 * Plays a clip through a fresh pipeline, frame after frame at `fps` (no frame dropped, so the result does
 * not depend on the machine's load), and returns every decision with its clip time.
 */
export async function runClip(
  clip: string,
  cameraId: string,
  config: PipelineConfig,
  deps: { pack: ModelPack; gallery: Gallery; logger: Logger },
): Promise<TimedDecision[]> {
  const decisions: TimedDecision[] = [];
  const sink = {
    accept: async (decision: Decision) => {
      decisions.push({ ...decision, t: (Date.parse(decision.capturedAt) - clipStart) / 1000 });
    },
  };
  const pipeline = new VisionPipeline(config, [cameraId], { ...deps, sink });
  const { frames } = await decodeClip(clip, fps, clipStart);
  for (const frame of frames) await pipeline.analyse(cameraId, frame);
  await pipeline.stop();
  return decisions;
}

/**
 * Scores attendance decisions against the appearances. An attendance counts for the appearance of that
 * person visible at its time (the first one: correct; any further one: duplicate). Naming someone not in
 * view is a wrong identity while an enrolled walker is in view, and a false "present" otherwise.
 */
export function scoreWalkby(
  appearances: readonly Appearance[],
  decisions: readonly TimedDecision[],
  spoofDecisions: readonly Decision[],
): WalkbyScore {
  const enrolled = appearances.filter((a) => a.expected !== 'unknown');
  const counted = new Set<string>();
  const score: WalkbyScore = {
    walkers: appearances.length,
    correct: 0,
    wrongIdentity: 0,
    missed: 0,
    falsePresent: 0,
    duplicates: 0,
    spoofAccepted: spoofDecisions.filter((d) => d.kind === 'attendance').length,
  };
  for (const decision of decisions) {
    if (decision.kind !== 'attendance') continue;
    const inView = appearances.filter(
      (a) => decision.t >= a.t_start - slackS && decision.t <= a.t_end + slackS,
    );
    const own = inView.find((a) => a.expected === decision.personId);
    if (own) {
      if (counted.has(own.id)) score.duplicates += 1;
      else {
        counted.add(own.id);
        score.correct += 1;
      }
    } else if (inView.some((a) => a.expected !== 'unknown')) score.wrongIdentity += 1;
    else score.falsePresent += 1;
  }
  score.missed = enrolled.length - score.correct;
  return score;
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/**
 * The gallery of the data folder: every `enrol` row of labels.csv, grouped by identity. Only the first
 * two columns (file, identity) and the last one (suggested_split) are read; none of them holds a comma.
 */
async function enrolmentsOf(dataDir: string): Promise<Array<{ personId: string; photos: Uint8Array[] }>> {
  const lines = (await readFile(join(dataDir, 'labels.csv'), 'utf8')).split(/\r?\n/).slice(1);
  const people = new Map<string, Uint8Array[]>();
  for (const line of lines) {
    const [file, identity] = line.split(',', 2);
    if (!file || !identity || line.slice(line.lastIndexOf(',') + 1) !== 'enrol') continue;
    const photos = people.get(identity) ?? [];
    photos.push(await readFile(join(dataDir, file)));
    people.set(identity, photos);
  }
  return [...people].map(([personId, photos]) => ({ personId, photos }));
}

/** Runs both clips of `<dataDir>/video` and scores them. */
export async function evaluateWalkby(dataDir: string, logger: Logger): Promise<WalkbyScore> {
  const video = join(dataDir, 'video');
  const truth = await readJson<{ appearances: Appearance[] }>(join(video, 'entrance_walkby.json'));
  const pack = await loadModelPack(defaultManifestPath, { logger });
  const dir = await mkdtemp(join(tmpdir(), 'tp-walkby-eval-'));
  try {
    const gallery = await enrolGallery(dir, pack, await enrolmentsOf(dataDir), logger);
    try {
      const config = parseConfig(pipelineConfigSchema, {}, 'walkby eval');
      const deps = { pack, gallery, logger };
      const walk = await runClip(join(video, 'entrance_walkby.mp4'), 'entrance', config, deps);
      const spoof = await runClip(join(video, 'spoof_print_handheld.mp4'), 'entrance', config, deps);
      return scoreWalkby(truth.appearances, walk, spoof);
    } finally {
      gallery.close();
    }
  } finally {
    await pack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export const walkbyEvalSection: Section<EvalContext> = {
  name: 'walkby',
  async run(context) {
    const logger = createLogger({ name: 'eval-walkby', level: 'warn' });
    return { walkby: await evaluateWalkby(context.dataDir, logger) };
  },
  gate(result) {
    const score = result.walkby as WalkbyScore;
    const failures: string[] = [];
    for (const key of ['wrongIdentity', 'falsePresent', 'duplicates', 'spoofAccepted'] as const) {
      if (score[key] !== 0) failures.push(`walkby.${key} is ${score[key]}, must be 0`);
    }
    const enrolled = score.correct + score.missed;
    if (score.correct < Math.ceil(0.9 * enrolled)) {
      failures.push(
        `walkby.correct is ${score.correct} of ${enrolled} enrolled walkers, must be at least 90%`,
      );
    }
    return failures;
  },
};
