import type { Point } from '@truepresence/model-pack';

/** Where the camera's entrance boundary lies, in frame fractions (0..1, x to the right, y down). */
export type DirectionRule =
  | { type: 'none' }
  | { type: 'fixed'; value: Direction }
  | { type: 'line'; from: readonly [number, number]; to: readonly [number, number] }
  | { type: 'zone'; polygon: ReadonlyArray<readonly [number, number]> };

export type Direction = 'in' | 'out';

/** A point of a track's path: face centre in frame fractions, frame time in ms. */
export interface PathPoint {
  x: number;
  y: number;
  at: number;
}

/** Least speed across a line (frame fractions per second) for an uncrossed track to count as heading in or out. */
const minHeadingSpeed = 0.02;

function side(from: Point, to: Point, p: Point): number {
  return (to.x - from.x) * (p.y - from.y) - (to.y - from.y) * (p.x - from.x);
}

function segmentsCross(a: Point, b: Point, c: Point, d: Point): boolean {
  const d1 = side(c, d, a);
  const d2 = side(c, d, b);
  const d3 = side(a, b, c);
  const d4 = side(a, b, d);
  return d1 * d2 < 0 && d3 * d4 < 0;
}

function insidePolygon(polygon: readonly Point[], p: Point): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const a = polygon[i]!;
    const b = polygon[j]!;
    if (a.y > p.y !== b.y > p.y && p.x < ((b.x - a.x) * (p.y - a.y)) / (b.y - a.y) + a.x) inside = !inside;
  }
  return inside;
}

const point = ([x, y]: readonly [number, number]): Point => ({ x, y });

/** Least-squares speed of the signed distance to the line, frame fractions per second. */
function speedAcross(from: Point, to: Point, path: readonly PathPoint[]): number {
  const length = Math.hypot(to.x - from.x, to.y - from.y);
  const n = path.length;
  const t0 = path[0]!.at;
  let st = 0;
  let sd = 0;
  let stt = 0;
  let std = 0;
  for (const p of path) {
    const t = (p.at - t0) / 1000;
    const d = side(from, to, p) / length;
    st += t;
    sd += d;
    stt += t * t;
    std += t * d;
  }
  const variance = n * stt - st * st;
  return variance > 0 ? (n * std - st * sd) / variance : 0;
}

/**
 * Direction of travel of a track, from its path of face centres.
 * - line: crossing from the left-hand side of from->to to its right-hand side (as seen walking from `from`
 *   to `to` on the image) is `in`, the other way `out`. A track that has not crossed yet (decisions are
 *   made early) takes the side it is heading to, when it moves across the line at 2% of the frame per
 *   second or more.
 * - zone: the polygon is the inside; a track that started outside and is now inside is `in`, and the reverse
 *   `out`.
 * - fixed: a camera that only sees people going one way; none: no direction (null).
 */
export function directionOf(rule: DirectionRule, path: readonly PathPoint[]): Direction | null {
  switch (rule.type) {
    case 'none':
      return null;
    case 'fixed':
      return rule.value;
    case 'line': {
      const from = point(rule.from);
      const to = point(rule.to);
      let net = 0;
      for (let i = 1; i < path.length; i++) {
        const a = path[i - 1]!;
        const b = path[i]!;
        if (segmentsCross(a, b, from, to)) net += side(from, to, b) > 0 ? 1 : -1;
      }
      if (net !== 0) return net > 0 ? 'in' : 'out';
      if (path.length < 2) return null;
      const speed = speedAcross(from, to, path);
      if (Math.abs(speed) < minHeadingSpeed) return null;
      return speed > 0 ? 'in' : 'out';
    }
    case 'zone': {
      const polygon = rule.polygon.map(point);
      const first = path[0];
      const last = path[path.length - 1];
      if (!first || !last) return null;
      const startedInside = insidePolygon(polygon, first);
      const nowInside = insidePolygon(polygon, last);
      if (startedInside === nowInside) return null;
      return nowInside ? 'in' : 'out';
    }
  }
}
