import type { Box } from '@truepresence/model-pack';
import { iou } from './boxes.ts';

export interface TrackerSettings {
  /** Least IoU between a track's predicted box and a detection for a plain overlap match. */
  minIou: number;
  /** Fallback for small or fast faces: most centre distance, in predicted box widths, for a match. */
  maxCenterJump: number;
  /** A track ends after this many analysed frames in a row without its face. */
  maxMissedFrames: number;
}

/** Centre of a box and its size, the state that motion prediction extrapolates. */
interface Motion {
  cx: number;
  cy: number;
  w: number;
  h: number;
}

export interface Track {
  readonly id: number;
  /** Last matched box, image pixels. */
  box: Box;
  /** Frame time of the first and last match (ms). */
  readonly firstAt: number;
  lastAt: number;
  hits: number;
  missed: number;
  /** Box centres of every match, with the frame time. */
  readonly path: Array<{ x: number; y: number; at: number }>;
  /** Change of centre and size per ms, smoothed. */
  velocity: Motion;
}

export interface TrackerUpdate {
  /** Track id for each detection, in the order given. */
  trackIds: number[];
  /** Tracks that ended with this update (missed too many frames). */
  ended: Track[];
}

const velocitySmoothing = 0.6;
const maxPathLength = 256;

function motionOf(box: Box): Motion {
  return { cx: box.x + box.width / 2, cy: box.y + box.height / 2, w: box.width, h: box.height };
}

/**
 * Multi-face tracker for one camera: one track per face crossing the view. Detections are matched to the
 * tracks' boxes predicted at the frame's time (constant velocity of centre and size), by IoU first and
 * then, for faces too small or fast to overlap between analysed frames, by centre distance. A track that
 * misses its face keeps being predicted, so a short occlusion does not split it.
 */
export class Tracker {
  private readonly tracks = new Map<number, Track>();
  private nextId = 1;

  constructor(private readonly settings: TrackerSettings) {}

  get active(): readonly Track[] {
    return [...this.tracks.values()];
  }

  get(id: number): Track | undefined {
    return this.tracks.get(id);
  }

  /** Where the track's box is expected at frame time `at`. */
  predict(track: Track, at: number): Box {
    const dt = at - track.lastAt;
    const m = motionOf(track.box);
    const v = track.velocity;
    const w = Math.max(1, m.w + v.w * dt);
    const h = Math.max(1, m.h + v.h * dt);
    return { x: m.cx + v.cx * dt - w / 2, y: m.cy + v.cy * dt - h / 2, width: w, height: h };
  }

  update(boxes: readonly Box[], at: number): TrackerUpdate {
    const tracks = [...this.tracks.values()];
    const pairs: Array<{ track: Track; detection: number; affinity: number }> = [];
    for (const track of tracks) {
      const predicted = this.predict(track, at);
      const p = motionOf(predicted);
      boxes.forEach((box, detection) => {
        const overlap = iou(predicted, box);
        if (overlap >= this.settings.minIou) {
          pairs.push({ track, detection, affinity: 1 + overlap });
          return;
        }
        const d = motionOf(box);
        const jump = Math.hypot(d.cx - p.cx, d.cy - p.cy) / Math.max(p.w, d.w);
        const ratio = d.w / p.w;
        if (jump <= this.settings.maxCenterJump && ratio >= 0.5 && ratio <= 2) {
          pairs.push({ track, detection, affinity: 1 - jump / this.settings.maxCenterJump });
        }
      });
    }
    pairs.sort((a, b) => b.affinity - a.affinity);
    const trackIds = new Array<number>(boxes.length).fill(0);
    const matched = new Set<number>();
    for (const { track, detection } of pairs) {
      if (matched.has(track.id) || trackIds[detection] !== 0) continue;
      matched.add(track.id);
      trackIds[detection] = track.id;
      this.follow(track, boxes[detection]!, at);
    }
    boxes.forEach((box, detection) => {
      if (trackIds[detection] === 0) trackIds[detection] = this.open(box, at).id;
    });
    const ended: Track[] = [];
    for (const track of tracks) {
      if (matched.has(track.id)) continue;
      track.missed += 1;
      if (track.missed > this.settings.maxMissedFrames) {
        this.tracks.delete(track.id);
        ended.push(track);
      }
    }
    return { trackIds, ended };
  }

  /** Ends every track whose face was last seen before `before` (frame time); returns them. */
  expire(before: number): Track[] {
    const ended = [...this.tracks.values()].filter((t) => t.lastAt < before);
    for (const track of ended) this.tracks.delete(track.id);
    return ended;
  }

  private open(box: Box, at: number): Track {
    const m = motionOf(box);
    const track: Track = {
      id: this.nextId++,
      box,
      firstAt: at,
      lastAt: at,
      hits: 1,
      missed: 0,
      path: [{ x: m.cx, y: m.cy, at }],
      velocity: { cx: 0, cy: 0, w: 0, h: 0 },
    };
    this.tracks.set(track.id, track);
    return track;
  }

  private follow(track: Track, box: Box, at: number): void {
    const dt = at - track.lastAt;
    const before = motionOf(track.box);
    const now = motionOf(box);
    if (dt > 0) {
      const measured: Motion = {
        cx: (now.cx - before.cx) / dt,
        cy: (now.cy - before.cy) / dt,
        w: (now.w - before.w) / dt,
        h: (now.h - before.h) / dt,
      };
      const k = track.hits === 1 ? 1 : velocitySmoothing;
      const v = track.velocity;
      track.velocity = {
        cx: k * measured.cx + (1 - k) * v.cx,
        cy: k * measured.cy + (1 - k) * v.cy,
        w: k * measured.w + (1 - k) * v.w,
        h: k * measured.h + (1 - k) * v.h,
      };
    }
    track.box = box;
    track.lastAt = at;
    track.hits += 1;
    track.missed = 0;
    track.path.push({ x: now.cx, y: now.cy, at });
    if (track.path.length > maxPathLength) track.path.shift();
  }
}
