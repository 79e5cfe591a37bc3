import type { Box, FaceCandidate, ModelPack, RgbImage } from '@truepresence/model-pack';
import { containedShare, iou } from './boxes.ts';

export interface DetectionSettings {
  tileColumns: number;
  tileRows: number;
  tileOverlap: number;
  /** The tiles are searched on every tileEvery-th analysed frame. */
  tileEvery: number;
  /** Tracked faces narrower than this (px) are searched around their predicted box on every frame. */
  refineBelowPx: number;
  maxFaces: number;
  /** Extra regions, fractions of the frame, searched on every frame. */
  regions: readonly Box[];
}

/** What to search on one frame besides the whole of it. */
export interface SearchPlan {
  /** Search the tile grid on this frame. */
  tiles: boolean;
  /** Predicted boxes of tracked faces (image pixels). */
  tracked: readonly Box[];
}

/** A search window in image pixels; a face touching an inner edge is cut by it and whole elsewhere. */
export interface SearchWindow {
  box: Box;
  innerEdges: { left: boolean; top: boolean; right: boolean; bottom: boolean };
}

const noInnerEdges = { left: false, top: false, right: false, bottom: false };
/** Boxes this close (px) to an inner edge are cut by it. */
const edgeMarginPx = 2;
/** A box whose area lies this much inside a better box is a part of that face, not another face. */
const maxContained = 0.6;
/** Window around a small tracked face: this many face widths wide, 4:3 like the detector's input. */
const refineScale = 4;
const refineMinWidthPx = 160;

function tileWindows(width: number, height: number, settings: DetectionSettings): SearchWindow[] {
  const { tileColumns: cols, tileRows: rows, tileOverlap: overlap } = settings;
  if (cols * rows <= 1) return [];
  const tileW = width / (cols - (cols - 1) * overlap);
  const tileH = height / (rows - (rows - 1) * overlap);
  const windows: SearchWindow[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const x = Math.round(c * tileW * (1 - overlap));
      const y = Math.round(r * tileH * (1 - overlap));
      windows.push({
        box: {
          x,
          y,
          width: Math.min(width - x, Math.round(tileW)),
          height: Math.min(height - y, Math.round(tileH)),
        },
        innerEdges: { left: c > 0, top: r > 0, right: c < cols - 1, bottom: r < rows - 1 },
      });
    }
  }
  return windows;
}

/** A 4:3 window centred on a small face, inside the frame; its edges inside the frame are inner edges. */
function refineWindow(face: Box, width: number, height: number): SearchWindow {
  const w = Math.min(width, Math.max(refineMinWidthPx, face.width * refineScale));
  const h = Math.min(height, (w * 3) / 4);
  const x = Math.round(Math.min(Math.max(0, face.x + face.width / 2 - w / 2), width - w));
  const y = Math.round(Math.min(Math.max(0, face.y + face.height / 2 - h / 2), height - h));
  const box = { x, y, width: Math.round(w), height: Math.round(h) };
  return {
    box,
    innerEdges: { left: x > 0, top: y > 0, right: x + box.width < width, bottom: y + box.height < height },
  };
}

/**
 * The windows searched on a frame. The whole frame finds near faces; the detector's input is small (e.g.
 * 320x240), so a far face only becomes large enough for it in a smaller window: the tile grid (every
 * `tileEvery` frames, to find newcomers), a window around each small tracked face (every frame, to follow
 * it) and the camera's regions (every frame).
 */
export function searchWindows(
  width: number,
  height: number,
  settings: DetectionSettings,
  plan: SearchPlan,
): SearchWindow[] {
  const windows: SearchWindow[] = [{ box: { x: 0, y: 0, width, height }, innerEdges: noInnerEdges }];
  if (plan.tiles) windows.push(...tileWindows(width, height, settings));
  for (const face of plan.tracked) {
    if (face.width < settings.refineBelowPx) windows.push(refineWindow(face, width, height));
  }
  for (const region of settings.regions) {
    windows.push({
      box: {
        x: Math.round(region.x * width),
        y: Math.round(region.y * height),
        width: Math.round(region.width * width),
        height: Math.round(region.height * height),
      },
      innerEdges: noInnerEdges,
    });
  }
  return windows;
}

function cutByInnerEdge(face: FaceCandidate, window: SearchWindow): boolean {
  const { box, innerEdges } = window;
  const f = face.box;
  return (
    (innerEdges.left && f.x <= box.x + edgeMarginPx) ||
    (innerEdges.top && f.y <= box.y + edgeMarginPx) ||
    (innerEdges.right && f.x + f.width >= box.x + box.width - edgeMarginPx) ||
    (innerEdges.bottom && f.y + f.height >= box.y + box.height - edgeMarginPx)
  );
}

/**
 * Merges the faces found in overlapping windows, best score first: a face overlapping a kept one by more
 * than `nmsIou` is the same face, and one lying mostly inside a kept one is a part of it.
 */
export function mergeDetections<F extends FaceCandidate>(
  faces: readonly F[],
  nmsIou: number,
  maxFaces: number,
): F[] {
  const kept: F[] = [];
  for (const face of [...faces].sort((a, b) => b.score - a.score)) {
    if (kept.length >= maxFaces) break;
    if (kept.some((k) => iou(face.box, k.box) > nmsIou || containedShare(face.box, k.box) > maxContained))
      continue;
    kept.push(face);
  }
  return kept;
}

/**
 * Finds the faces on a whole frame through the model pack, searching every window of the plan (together:
 * one window's resize overlaps another's detector run). Landmarks are left to the caller, so that the faces
 * merged away, or not wanted, cost no landmarks run.
 */
export async function detectFaces(
  pack: ModelPack,
  image: RgbImage,
  settings: DetectionSettings,
  plan: SearchPlan,
): Promise<FaceCandidate[]> {
  const windows = searchWindows(image.width, image.height, settings, plan);
  const perWindow = await Promise.all(
    windows.map((window) => pack.findFaces(image, { roi: window.box, maxFaces: settings.maxFaces })),
  );
  const found = perWindow.flatMap((faces, i) => faces.filter((face) => !cutByInnerEdge(face, windows[i]!)));
  return mergeDetections(found, pack.thresholds.nmsIou, settings.maxFaces);
}
