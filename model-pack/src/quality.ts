// Quality measures of one face, for the agent's quality gate and the installer's camera view: size, eye
// distance, sharpness and brightness of the aligned face, and a head pose estimated from the 5 landmarks.
import type { Box, Landmarks5 } from './geometry.ts';
import type { RgbImage } from './image.ts';
import type { QualityLimits } from './manifest.ts';

export interface FaceQuality {
  /** Shorter side of the face box, pixels. */
  faceSizePx: number;
  /** Distance between the two eye centres, pixels. */
  interEyePx: number;
  /** Variance of the Laplacian over the centre of the aligned face's luma (higher is sharper). */
  sharpness: number;
  /** Mean luma of the centre of the aligned face, 0..255. */
  brightness: number;
  /** Head turn (positive: nose towards the image's right), degrees, estimated. */
  yawDeg: number;
  /** Head nod (positive: looking down), degrees, estimated. */
  pitchDeg: number;
  /** In-plane tilt of the eye line, degrees. */
  rollDeg: number;
}

export type QualityIssue =
  | 'face-too-small'
  | 'eyes-too-close'
  | 'blurry'
  | 'too-dark'
  | 'too-bright'
  | 'yaw'
  | 'pitch'
  | 'roll';

// Nose tip depth in front of the eyes and mouth, as a fraction of the inter-eye distance (anthropometric
// average), and where the nose tip sits between the eye line and the mouth line on a frontal face: 0.56
// makes the median pitch of the 104 mostly frontal photos of ../shared/data about 0 with both packs' landmarks.
const noseDepth = 0.55;
const frontalNoseRatio = 0.56;
const toDeg = 180 / Math.PI;

function estimatePose(points: Landmarks5): { yawDeg: number; pitchDeg: number; rollDeg: number } {
  const [eyeA, eyeB, nose, mouthA, mouthB] = points;
  const roll = Math.atan2(eyeB.y - eyeA.y, eyeB.x - eyeA.x);
  const cos = Math.cos(-roll);
  const sin = Math.sin(-roll);
  const level = (p: { x: number; y: number }) => ({ x: p.x * cos - p.y * sin, y: p.x * sin + p.y * cos });
  const ea = level(eyeA);
  const eb = level(eyeB);
  const n = level(nose);
  const ma = level(mouthA);
  const mb = level(mouthB);
  const eyeDist = Math.max(1e-6, eb.x - ea.x);
  const eyeMid = { x: (ea.x + eb.x) / 2, y: (ea.y + eb.y) / 2 };
  const mouthY = (ma.y + mb.y) / 2;
  const yaw = Math.atan((n.x - eyeMid.x) / (noseDepth * eyeDist));
  const faceHeight = Math.max(1e-6, mouthY - eyeMid.y);
  const ratio = (n.y - eyeMid.y) / faceHeight;
  const pitch = Math.atan(((ratio - frontalNoseRatio) * faceHeight) / (noseDepth * eyeDist));
  return { yawDeg: yaw * toDeg, pitchDeg: pitch * toDeg, rollDeg: roll * toDeg };
}

/** Sharpness and brightness over the central part of an aligned face (the warp may leave black edges). */
function lumaStatistics(aligned: RgbImage): { sharpness: number; brightness: number } {
  const { data, width, height } = aligned;
  const x0 = Math.round(width * 0.2);
  const x1 = Math.round(width * 0.8);
  const y0 = Math.round(height * 0.2);
  const y1 = Math.round(height * 0.85);
  const luma = (x: number, y: number) => {
    const p = (y * width + x) * 3;
    return 0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!;
  };
  let sum = 0;
  let lapSum = 0;
  let lapSq = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const c = luma(x, y);
      const lap = luma(x - 1, y) + luma(x + 1, y) + luma(x, y - 1) + luma(x, y + 1) - 4 * c;
      sum += c;
      lapSum += lap;
      lapSq += lap * lap;
      n++;
    }
  }
  const mean = lapSum / n;
  return { sharpness: lapSq / n - mean * mean, brightness: sum / n };
}

export function measureQuality(box: Box, landmarks: Landmarks5, aligned: RgbImage): FaceQuality {
  const [eyeA, eyeB] = landmarks;
  return {
    faceSizePx: Math.min(box.width, box.height),
    interEyePx: Math.hypot(eyeB.x - eyeA.x, eyeB.y - eyeA.y),
    ...lumaStatistics(aligned),
    ...estimatePose(landmarks),
  };
}

/** The limits a face misses; an empty list means it is good enough to recognise. */
export function qualityIssues(quality: FaceQuality, limits: QualityLimits): QualityIssue[] {
  const issues: QualityIssue[] = [];
  if (quality.faceSizePx < limits.minFacePx) issues.push('face-too-small');
  if (quality.interEyePx < limits.minInterEyePx) issues.push('eyes-too-close');
  if (quality.sharpness < limits.minSharpness) issues.push('blurry');
  if (quality.brightness < limits.minBrightness) issues.push('too-dark');
  if (quality.brightness > limits.maxBrightness) issues.push('too-bright');
  if (Math.abs(quality.yawDeg) > limits.maxYawDeg) issues.push('yaw');
  if (Math.abs(quality.pitchDeg) > limits.maxPitchDeg) issues.push('pitch');
  if (Math.abs(quality.rollDeg) > limits.maxRollDeg) issues.push('roll');
  return issues;
}
