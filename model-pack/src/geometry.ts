/** Pixel geometry of the face pipeline: boxes, points, NMS and the 5-point similarity transform. */

export interface Point {
  x: number;
  y: number;
}

/** Axis-aligned box in image pixels (top-left corner, size). */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Five landmarks in image pixels, in the order of the ArcFace template: the eye on the image's left (the
 * subject's right eye), the other eye, the nose tip, the mouth corner on the image's left, the other corner.
 */
export type Landmarks5 = readonly [Point, Point, Point, Point, Point];

/** 2x3 affine matrix [a, b, c, d, e, f]: x' = a*x + b*y + c, y' = d*x + e*y + f. */
export type Affine = readonly [number, number, number, number, number, number];

/** ArcFace's 5-point template for a 112x112 aligned face. */
export const arcfaceTemplate112: Landmarks5 = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
  { x: 56.0252, y: 71.7366 },
  { x: 41.5493, y: 92.3655 },
  { x: 70.7299, y: 92.2041 },
];

export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Greedy non-maximum suppression: indices of the kept candidates, best score first. */
export function nonMaxSuppression(
  boxes: readonly Box[],
  scores: readonly number[],
  iouThreshold: number,
  limit = Number.POSITIVE_INFINITY,
): number[] {
  const order = boxes.map((_, i) => i).sort((i, j) => scores[j]! - scores[i]!);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.length >= limit) break;
    if (kept.every((k) => iou(boxes[k]!, boxes[i]!) <= iouThreshold)) kept.push(i);
  }
  return kept;
}

/**
 * Least-squares similarity transform (rotation, uniform scale, translation; no reflection) taking `from`
 * onto `to`: Umeyama's method, which in 2-D has this closed form.
 */
export function estimateSimilarity(from: readonly Point[], to: readonly Point[]): Affine {
  const n = from.length;
  let fx = 0;
  let fy = 0;
  let tx = 0;
  let ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i]!.x;
    fy += from[i]!.y;
    tx += to[i]!.x;
    ty += to[i]!.y;
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  let dot = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const px = from[i]!.x - fx;
    const py = from[i]!.y - fy;
    const qx = to[i]!.x - tx;
    const qy = to[i]!.y - ty;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  const a = norm > 0 ? dot / norm : 1;
  const b = norm > 0 ? cross / norm : 0;
  return [a, -b, tx - (a * fx - b * fy), b, a, ty - (b * fx + a * fy)];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, c, d, e, f] = m;
  const det = a * e - b * d;
  return [e / det, -b / det, (b * f - c * e) / det, -d / det, a / det, (c * d - a * f) / det];
}

export function applyAffine(m: Affine, p: Point): Point {
  return { x: m[0] * p.x + m[1] * p.y + m[2], y: m[3] * p.x + m[4] * p.y + m[5] };
}

/** Crop rectangle around a box: optionally squared, scaled about its centre. */
export function scaleBox(box: Box, scale: number, square: boolean): Box {
  const w = (square ? Math.max(box.width, box.height) : box.width) * scale;
  const h = (square ? Math.max(box.width, box.height) : box.height) * scale;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  return { x: cx - w / 2, y: cy - h / 2, width: w, height: h };
}

/**
 * The crop of Silent-Face-Anti-Spoofing and of the faceplugin package: the scale is reduced until the crop
 * fits the image, then the crop is moved inside the image.
 */
export function shiftedCrop(box: Box, scale: number, square: boolean, width: number, height: number): Box {
  const baseW = square ? Math.max(box.width, box.height) : box.width;
  const baseH = square ? Math.max(box.width, box.height) : box.height;
  const s = Math.max(0, Math.min((height - 1) / baseH, (width - 1) / baseW, scale));
  const w = baseW * s;
  const h = baseH * s;
  let x = box.x + box.width / 2 - w / 2;
  let y = box.y + box.height / 2 - h / 2;
  x = Math.min(Math.max(x, 0), width - 1 - w);
  y = Math.min(Math.max(y, 0), height - 1 - h);
  return { x, y, width: w, height: h };
}
