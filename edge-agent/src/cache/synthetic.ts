import { EMBEDDING_DIMENSIONS } from '@truepresence/protocol';

/**
 * Seeded face-like embeddings for tests and the search bench. Random unit vectors are a poor model (every
 * pair is near-orthogonal); real face embeddings share a mean direction and correlated factors across
 * people, and captures of one person spread around their identity. Here: identity centres = shared mean +
 * low-rank factors + isotropic part; a capture = the centre turned by a random angle towards a mix of
 * shared nuisance factors (pose, light) and noise. Two captures of one person have cosine ~0.55-0.85
 * (mean 0.7), captures of different people 0.07 +/- 0.09, as with 512-d face recognition models; captures
 * of look-alikes (siblings) ~0.45.
 */
export interface SyntheticFaces {
  /** The centre of a new identity (not itself a capture). */
  identity(): Float32Array;
  /** A look-alike of an identity (a sibling): its centre at cosine 0.6-0.7 to the given one. */
  lookalike(centre: Float32Array): Float32Array;
  /** A fresh capture of the identity with this centre. */
  capture(centre: Float32Array): Float32Array;
  /** A uniform random number in [0, 1), from the same seeded stream. */
  random(): number;
}

const factorRank = 24;
const meanWeight = 0.55;
const factorWeight = 1.3;
const nuisanceWeight = 1;
/** Cosine between a capture and its centre, drawn uniformly from this range. */
const centreCosine = [0.77, 0.9] as const;
const lookalikeCosine = [0.6, 0.7] as const;

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(aa * bb);
}

function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

export function syntheticFaces(seed: number): SyntheticFaces {
  // mulberry32: small, fast, and the same stream on every platform.
  let state = seed >>> 0;
  const random = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  const gaussian = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(random() || Number.MIN_VALUE));
    const angle = 2 * Math.PI * random();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
  const direction = (): Float32Array => {
    const v = new Float32Array(EMBEDDING_DIMENSIONS);
    for (let i = 0; i < v.length; i++) v[i] = gaussian();
    return normalise(v);
  };
  const addFactors = (target: Float32Array, factors: Float32Array[], weight: number): void => {
    for (const factor of factors) {
      const z = (gaussian() * weight) / Math.sqrt(factors.length);
      for (let i = 0; i < target.length; i++) target[i] = target[i]! + z * factor[i]!;
    }
  };
  /** `from` turned towards `towards` so that their cosine falls in `range`. */
  const turn = (
    from: Float32Array,
    towards: Float32Array,
    range: readonly [number, number],
  ): Float32Array => {
    const away = towards.slice();
    let along = 0;
    for (let i = 0; i < away.length; i++) along += away[i]! * from[i]!;
    for (let i = 0; i < away.length; i++) away[i] = away[i]! - along * from[i]!;
    normalise(away);
    const cos = range[0] + (range[1] - range[0]) * random();
    const sin = Math.sqrt(1 - cos * cos);
    const out = new Float32Array(from.length);
    for (let i = 0; i < out.length; i++) out[i] = cos * from[i]! + sin * away[i]!;
    return normalise(out);
  };
  const mean = direction();
  const identityFactors = Array.from({ length: factorRank }, direction);
  const nuisanceFactors = Array.from({ length: factorRank }, direction);

  const identity = (): Float32Array => {
    const centre = direction();
    for (let i = 0; i < centre.length; i++) centre[i] = centre[i]! + meanWeight * mean[i]!;
    addFactors(centre, identityFactors, factorWeight);
    return normalise(centre);
  };

  return {
    random,
    identity,
    lookalike: (centre) => turn(centre, identity(), lookalikeCosine),
    capture: (centre) => {
      const away = direction();
      addFactors(away, nuisanceFactors, nuisanceWeight);
      return turn(centre, away, centreCosine);
    },
  };
}
