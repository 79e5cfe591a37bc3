import type { Box } from '@truepresence/model-pack';

/** Area of the intersection of two boxes. */
function intersection(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  return w * h;
}

/** Intersection over union, 0..1. */
export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/** Share of `inner`'s area that lies inside `outer`, 0..1. */
export function containedShare(inner: Box, outer: Box): number {
  return intersection(inner, outer) / Math.max(1e-9, inner.width * inner.height);
}
