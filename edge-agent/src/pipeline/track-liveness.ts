/** One gated face of a track: its passive P(live) and its head pose as estimated from its landmarks. */
export interface LivenessSample {
  live: number;
  yawDeg: number;
  pitchDeg: number;
}

export interface LivenessRule {
  /** How many of `liveWindow` consecutive faces must look live: a window scores its `liveHits`-th highest P(live). */
  liveHits: number;
  liveWindow: number;
  /** A track whose passive score reaches this is live, whatever its motion. */
  liveAbove: number;
  /** At the final verdict, a track whose passive score stays below this is a spoof. */
  spoofBelow: number;
  /** Fewest gated faces for a spoof verdict; a shorter track is unverified instead. */
  minSamples: number;
  /** Median change of head pose between consecutive faces (degrees) under which the track moves like a flat picture. */
  rigidPoseDeg: number;
}

/** `pending`: not live yet, wait for more faces; `unverified`: the track ended without enough evidence either way. */
export type LivenessVerdict = 'live' | 'spoof' | 'pending' | 'unverified';

export interface TrackLiveness {
  /** The track's passive score: its best window of consecutive faces (0 with fewer than `liveHits` faces). */
  score: number;
  /** Median change of head pose (yaw, pitch) between consecutive faces, degrees; null with fewer than 3 faces. */
  poseChangeDeg: number | null;
  verdict: LivenessVerdict;
}

/** The best `liveHits`-th highest P(live) of any `liveWindow` consecutive faces (all faces while fewer). */
function sustainedScore(samples: readonly LivenessSample[], rule: LivenessRule): number {
  const width = Math.min(rule.liveWindow, samples.length);
  let best = 0;
  for (let start = 0; start + width <= samples.length; start++) {
    const window = samples.slice(start, start + width).map((s) => s.live);
    window.sort((a, b) => b - a);
    best = Math.max(best, window[rule.liveHits - 1] ?? 0);
  }
  return best;
}

function medianPoseChange(samples: readonly LivenessSample[]): number | null {
  if (samples.length < 3) return null;
  const changes: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    changes.push(Math.hypot(b.yawDeg - a.yawDeg, b.pitchDeg - a.pitchDeg));
  }
  changes.sort((x, y) => x - y);
  return changes[Math.floor(changes.length / 2)]!;
}

/**
 * Liveness of a whole track. The passive model's single-crop scores are noisy: a real face far away or in
 * odd light scores low on some frames, a photo scores high on an odd frame. So the track is live once
 * `liveHits` of `liveWindow` consecutive faces look live (a sustained run, not one lucky frame), and only
 * the final verdict (track ended, or waited long enough) may call it a spoof: with its best window below
 * `spoofBelow` over at least `minSamples` faces. The temporal cue (a flat picture keeps its apparent head pose however it is moved,
 * turned or brought closer; a head does not) only decides a final score between `spoofBelow` and
 * `liveAbove`: a walker looking straight ahead barely changes pose either, and photo composites not at all,
 * which is why the cue can never turn a live-looking track away on its own.
 */
export function trackLiveness(
  samples: readonly LivenessSample[],
  rule: LivenessRule,
  final: boolean,
): TrackLiveness {
  const score = sustainedScore(samples, rule);
  const poseChangeDeg = medianPoseChange(samples);
  const result = (verdict: LivenessVerdict): TrackLiveness => ({ score, poseChangeDeg, verdict });
  if (score >= rule.liveAbove) return result('live');
  if (!final) return result('pending');
  if (samples.length < rule.minSamples) return result('unverified');
  if (score < rule.spoofBelow) return result('spoof');
  const rigid = poseChangeDeg !== null && poseChangeDeg < rule.rigidPoseDeg;
  return result(rigid ? 'spoof' : 'live');
}
