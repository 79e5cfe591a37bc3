// The model-pack sections of `npm run eval` and `npm run bench` (test/eval.ts, test/bench.ts).
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchmarkPack } from './benchmark.ts';
import { evaluatePack, type FaceMetrics, type LivenessMetrics } from './evaluate.ts';
import { defaultManifestPath } from './manifest.ts';
import { loadModelPack } from './pack.ts';
import { rocSvg } from './roc.ts';

/** Same shape as `Section` in test/report.ts. */
export interface ReportSection<Context> {
  name: string;
  run(context: Context): Promise<Record<string, unknown>>;
  gate?(result: Record<string, unknown>): string[];
}

/**
 * Minimum accuracy of the default pack on ../shared/data: what it measured there (see the manifest notes)
 * minus a small margin for floating-point differences between CPUs. Liveness must reject every attack.
 */
export const evalTargets = {
  detectionRate: 0.98,
  verificationAccuracy: 0.98,
  tarAtFar1e3: 0.94,
  rank1: 0.96,
  maxApcer: 0,
  maxBpcer: 0.5,
} as const;

export function evalGate(result: Record<string, unknown>): string[] {
  const faces = result.faces as FaceMetrics | undefined;
  const liveness = result.liveness as LivenessMetrics | undefined;
  if (!faces || !liveness) return ['faces: no result'];
  const failures: string[] = [];
  const atLeast = (name: keyof FaceMetrics, min: number) => {
    if (faces[name] < min) failures.push(`faces.${name} is ${faces[name].toFixed(4)}, target >= ${min}`);
  };
  atLeast('detectionRate', evalTargets.detectionRate);
  atLeast('verificationAccuracy', evalTargets.verificationAccuracy);
  atLeast('tarAtFar1e3', evalTargets.tarAtFar1e3);
  atLeast('rank1', evalTargets.rank1);
  if (liveness.apcer > evalTargets.maxApcer) {
    failures.push(`liveness.apcer is ${liveness.apcer.toFixed(4)}, target <= ${evalTargets.maxApcer}`);
  }
  if (liveness.bpcer > evalTargets.maxBpcer) {
    failures.push(`liveness.bpcer is ${liveness.bpcer.toFixed(4)}, target <= ${evalTargets.maxBpcer}`);
  }
  return failures;
}

/** `faces` and `liveness` of the default pack; the ROC plot goes to the temporary directory. */
export const evalSection: ReportSection<{ dataDir: string }> = {
  name: 'faces',
  async run({ dataDir }) {
    const pack = await loadModelPack(defaultManifestPath);
    try {
      const evaluation = await evaluatePack(pack, dataDir);
      const rocPath = join(tmpdir(), `truepresence-roc-${pack.manifest.name}.svg`);
      await writeFile(rocPath, rocSvg([{ label: pack.id, points: evaluation.roc }]));
      process.stderr.write(`faces: ROC plot written to ${rocPath}\n`);
      return { faces: evaluation.faces, liveness: evaluation.liveness };
    } finally {
      await pack.stop();
    }
  },
  gate: evalGate,
};

/** Per-model latency at 1 and 2 threads and the per-face cost of the default pack. */
export const benchSection: ReportSection<{ dataDir: string | undefined }> = {
  name: 'models',
  async run() {
    return { ...(await benchmarkPack(defaultManifestPath)) };
  },
};
