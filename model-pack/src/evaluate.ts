// Accuracy of a model pack on a labelled folder in the layout of ../shared/data: labels.csv (file, identity,
// suggested_split), pairs.csv (file_a, file_b, same) and antispoof/labels.csv (file, label live|spoof).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelErrorCode, modelError } from './errors.ts';
import { decodeImage } from './image.ts';
import type { Face, ModelPack } from './pack.ts';
import { cosineSimilarity } from './similarity.ts';

export interface FaceMetrics {
  /** Share of labelled photos (one person each) where a face was found. */
  detectionRate: number;
  /** Share of pairs.csv decided right at the manifest's match threshold (a missed face counts as wrong). */
  verificationAccuracy: number;
  threshold: number;
  /** Threshold with the best accuracy on the pairs. */
  bestThreshold: number;
  /** Genuine acceptance over all same-identity pairs at the threshold giving FAR 1e-2 / 1e-3 over all cross-identity pairs. */
  tarAtFar1e2: number;
  tarAtFar1e3: number;
  /** Closed-set identification: one enrolment photo per identity, every other photo a probe. */
  rank1: number;
  pairs: number;
  identities: number;
}

export interface LivenessMetrics {
  /** Attacks (print, replay) accepted as live. */
  apcer: number;
  /** Live faces rejected. */
  bpcer: number;
  samples: number;
}

export interface LivenessSample {
  file: string;
  label: 'live' | 'spoof';
  /** P(live), or null when no face was found. */
  score: number | null;
}

export interface RocPoint {
  threshold: number;
  far: number;
  tar: number;
}

export interface Evaluation {
  faces: FaceMetrics;
  liveness: LivenessMetrics;
  /** Accuracy on the pairs at `faces.bestThreshold`. */
  bestAccuracy: number;
  /** Similarity threshold giving FAR 1e-3 over all cross-identity pairs. */
  thresholdAtFar1e3: number;
  roc: RocPoint[];
  livenessSamples: LivenessSample[];
  /** Genuine and impostor similarities over all photo pairs (for threshold studies). */
  genuine: number[];
  impostor: number[];
}

/** Minimal RFC 4180 reader: header row, quoted fields, doubled quotes. */
export function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== '')) rows.push(row);
  const [header, ...body] = rows;
  if (!header) return [];
  return body.map((values) => Object.fromEntries(header.map((name, i) => [name, values[i] ?? ''])));
}

async function readTable(path: string, columns: string[]): Promise<Array<Record<string, string>>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw modelError(ModelErrorCode.evalDataInvalid, `cannot read ${path}`, { path }, cause);
  }
  const rows = parseCsv(text);
  const missing = columns.filter((c) => rows.length > 0 && !(c in rows[0]!));
  if (rows.length === 0 || missing.length > 0) {
    throw modelError(
      ModelErrorCode.evalDataInvalid,
      `${path} needs a header with ${columns.join(', ')} and at least one row${missing.length ? `; missing ${missing.join(', ')}` : ''}`,
      { path, missing },
    );
  }
  return rows;
}

/** Best threshold for accuracy on labelled scores: midpoints between neighbouring scores are tried. */
export function bestAccuracyThreshold(scored: ReadonlyArray<{ score: number; same: boolean }>): {
  threshold: number;
  accuracy: number;
} {
  const sorted = [...scored].sort((a, b) => a.score - b.score);
  const positives = sorted.filter((s) => s.same).length;
  // Threshold below everything: every pair is called "same".
  let correct = positives;
  let best = { threshold: (sorted[0]?.score ?? 0) - 1e-6, accuracy: correct / Math.max(1, sorted.length) };
  for (let i = 0; i < sorted.length; i++) {
    correct += sorted[i]!.same ? -1 : 1;
    const next = sorted[i + 1]?.score ?? sorted[i]!.score + 2e-6;
    if (next === sorted[i]!.score) continue;
    const accuracy = correct / sorted.length;
    if (accuracy > best.accuracy) best = { threshold: (sorted[i]!.score + next) / 2, accuracy };
  }
  return best;
}

/** Lowest threshold (scores above it are accepted) whose false-acceptance rate over `impostor` is at most `far`. */
export function thresholdAtFar(impostor: readonly number[], far: number): number {
  const sorted = [...impostor].sort((a, b) => b - a);
  const allowed = Math.floor(far * sorted.length);
  return sorted[Math.min(allowed, sorted.length - 1)] ?? 0;
}

/** Share of `genuine` accepted at the threshold of {@link thresholdAtFar}. */
export function tarAtFar(genuine: readonly number[], impostor: readonly number[], far: number): number {
  if (genuine.length === 0 || impostor.length === 0) return 0;
  const threshold = thresholdAtFar(impostor, far);
  return genuine.filter((g) => g > threshold).length / genuine.length;
}

export function rocCurve(genuine: readonly number[], impostor: readonly number[], steps = 200): RocPoint[] {
  const all = [...genuine, ...impostor];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const points: RocPoint[] = [];
  for (let i = 0; i <= steps; i++) {
    const threshold = lo + ((hi - lo) * i) / steps;
    points.push({
      threshold,
      far: impostor.filter((s) => s >= threshold).length / Math.max(1, impostor.length),
      tar: genuine.filter((s) => s >= threshold).length / Math.max(1, genuine.length),
    });
  }
  return points;
}

function largest(faces: readonly Face[]): Face | undefined {
  return [...faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
}

export interface EvaluateOptions {
  /** Called after each photo with a short line (progress on stderr). */
  progress?: (line: string) => void;
}

export async function evaluatePack(
  pack: ModelPack,
  dataDir: string,
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const labels = await readTable(join(dataDir, 'labels.csv'), ['file', 'identity']);
  const pairRows = await readTable(join(dataDir, 'pairs.csv'), ['file_a', 'file_b', 'same']);
  const spoofRows = await readTable(join(dataDir, 'antispoof', 'labels.csv'), ['file', 'label']);

  const embeddings = new Map<string, Float32Array>();
  let done = 0;
  for (const row of labels) {
    const image = await decodeImage(await readFile(join(dataDir, row.file!)));
    const face = largest(await pack.detect(image));
    if (face) embeddings.set(row.file!, await pack.embed(pack.align(image, face)));
    done++;
    if (done % 20 === 0) options.progress?.(`${done}/${labels.length} photos embedded`);
  }
  const detectionRate = embeddings.size / labels.length;

  const threshold = pack.thresholds.match;
  const scored = pairRows.map((row) => {
    const a = embeddings.get(row.file_a!);
    const b = embeddings.get(row.file_b!);
    return { score: a && b ? cosineSimilarity(a, b) : Number.NaN, same: row.same === '1' };
  });
  const decided = scored.filter((s) => !Number.isNaN(s.score));
  const correctAt = decided.filter((s) => s.score >= threshold === s.same).length;
  const best = bestAccuracyThreshold(decided);
  const missed = scored.length - decided.length;

  const identityOf = new Map(labels.map((row) => [row.file!, row.identity!]));
  const files = [...embeddings.keys()];
  const genuine: number[] = [];
  const impostor: number[] = [];
  for (let i = 0; i < files.length; i++) {
    for (let j = i + 1; j < files.length; j++) {
      const s = cosineSimilarity(embeddings.get(files[i]!)!, embeddings.get(files[j]!)!);
      (identityOf.get(files[i]!) === identityOf.get(files[j]!) ? genuine : impostor).push(s);
    }
  }

  // Gallery: the first detected photo of each identity, preferring rows marked for enrolment.
  const gallery = new Map<string, string>();
  for (const split of ['enrol', undefined]) {
    for (const row of labels) {
      if (split && row.suggested_split !== split) continue;
      if (!gallery.has(row.identity!) && embeddings.has(row.file!)) gallery.set(row.identity!, row.file!);
    }
  }
  const enrolled = new Set(gallery.values());
  const probes = labels.filter(
    (row) => !enrolled.has(row.file!) && labels.filter((r) => r.identity === row.identity).length > 1,
  );
  let hits = 0;
  for (const probe of probes) {
    const e = embeddings.get(probe.file!);
    if (!e) continue;
    let bestIdentity = '';
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const [identity, file] of gallery) {
      const s = cosineSimilarity(e, embeddings.get(file)!);
      if (s > bestScore) {
        bestScore = s;
        bestIdentity = identity;
      }
    }
    if (bestIdentity === probe.identity) hits++;
  }

  const livenessSamples: LivenessSample[] = [];
  for (const row of spoofRows) {
    const label = row.label === 'live' ? 'live' : 'spoof';
    const image = await decodeImage(await readFile(join(dataDir, 'antispoof', row.file!)));
    const face = largest(await pack.detect(image));
    livenessSamples.push({ file: row.file!, label, score: face ? await pack.liveness(image, face) : null });
  }
  const scoredLive = livenessSamples.filter((s) => s.score !== null);
  const spoofs = scoredLive.filter((s) => s.label === 'spoof');
  const lives = scoredLive.filter((s) => s.label === 'live');
  const liveThreshold = pack.thresholds.liveness;

  return {
    faces: {
      detectionRate,
      verificationAccuracy: correctAt / scored.length,
      threshold,
      bestThreshold: best.threshold,
      tarAtFar1e2: tarAtFar(genuine, impostor, 1e-2),
      tarAtFar1e3: tarAtFar(genuine, impostor, 1e-3),
      rank1: probes.length > 0 ? hits / probes.length : 0,
      pairs: pairRows.length,
      identities: new Set(labels.map((row) => row.identity)).size,
    },
    liveness: {
      apcer: spoofs.length > 0 ? spoofs.filter((s) => s.score! >= liveThreshold).length / spoofs.length : 0,
      bpcer: lives.length > 0 ? lives.filter((s) => s.score! < liveThreshold).length / lives.length : 0,
      samples: scoredLive.length,
    },
    bestAccuracy: (best.accuracy * decided.length) / (decided.length + missed),
    thresholdAtFar1e3: thresholdAtFar(impostor, 1e-3),
    roc: rocCurve(genuine, impostor),
    livenessSamples,
    genuine,
    impostor,
  };
}
