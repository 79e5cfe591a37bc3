import {
  type FaceQuality,
  type QualityIssue,
  type QualityLimits,
  qualityIssues,
} from '@truepresence/model-pack';

export interface GateVerdict {
  pass: boolean;
  /** The camera's limits this face misses (empty when it passes). */
  issues: QualityIssue[];
  /** 0..1, higher is better: ranks a track's shots and weighs their similarities. */
  score: number;
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/**
 * How useful a face is for recognition, 0..1: eye distance up to twice the camera's minimum, sharpness up
 * to three times its minimum, a frontal pose and mid-range light all count; the detector's confidence
 * scales the product.
 */
export function qualityScore(quality: FaceQuality, limits: QualityLimits, detectionScore: number): number {
  const size = clamp01(quality.interEyePx / (2 * Math.max(1, limits.minInterEyePx)));
  const sharp = clamp01(quality.sharpness / (3 * Math.max(1, limits.minSharpness)));
  const turn = Math.max(
    Math.abs(quality.yawDeg) / Math.max(1, limits.maxYawDeg),
    Math.abs(quality.pitchDeg) / Math.max(1, limits.maxPitchDeg),
  );
  const pose = 1 - 0.5 * clamp01(turn);
  const mid = (limits.minBrightness + limits.maxBrightness) / 2;
  const half = Math.max(1, (limits.maxBrightness - limits.minBrightness) / 2);
  const light = 1 - 0.5 * clamp01(Math.abs(quality.brightness - mid) / half);
  return clamp01(detectionScore) * size * sharp * pose * light;
}

/** The camera's quality gate: only faces that pass are checked for liveness and embedded. */
export function gateFace(quality: FaceQuality, limits: QualityLimits, detectionScore: number): GateVerdict {
  const issues = qualityIssues(quality, limits);
  return { pass: issues.length === 0, issues, score: qualityScore(quality, limits, detectionScore) };
}
