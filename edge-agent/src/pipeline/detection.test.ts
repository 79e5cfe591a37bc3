import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Face, Landmarks5 } from '@truepresence/model-pack';
import { mergeDetections, searchWindows } from './detection.ts';

const settings = {
  tileColumns: 2,
  tileRows: 2,
  tileOverlap: 0.25,
  tileEvery: 5,
  refineBelowPx: 96,
  maxFaces: 16,
  regions: [],
};
const points = [0, 1, 2, 3, 4].map(() => ({ x: 0, y: 0 })) as unknown as Landmarks5;
const face = (x: number, y: number, size: number, score: number): Face => ({
  box: { x, y, width: size, height: size },
  score,
  landmarks: points,
});

describe('detection windows', () => {
  it('covers a 1280x720 frame with the whole frame and overlapping tiles', () => {
    assert.equal(searchWindows(1280, 720, settings, { tiles: false, tracked: [] }).length, 1);
    const windows = searchWindows(1280, 720, settings, { tiles: true, tracked: [] });
    assert.equal(windows.length, 5);
    assert.deepEqual(windows[0]!.box, { x: 0, y: 0, width: 1280, height: 720 });
    const tiles = windows.slice(1).map((w) => w.box);
    // Two columns overlapping by a quarter of a tile: 1280 / 1.75 wide each.
    assert.equal(tiles[0]!.width, Math.round(1280 / 1.75));
    assert.equal(tiles[1]!.x + tiles[1]!.width, 1280);
    assert.equal(tiles[3]!.y + tiles[3]!.height, 720);
    assert.ok(tiles[1]!.x < tiles[0]!.width, 'columns overlap');
    assert.deepEqual(windows[1]!.innerEdges, { left: false, top: false, right: true, bottom: true });
    assert.deepEqual(windows[4]!.innerEdges, { left: true, top: true, right: false, bottom: false });
  });

  it('adds the camera’s regions, and searches only the whole frame with a 1x1 grid', () => {
    const windows = searchWindows(
      1000,
      500,
      { ...settings, tileColumns: 1, tileRows: 1, regions: [{ x: 0.4, y: 0.2, width: 0.2, height: 0.4 }] },
      { tiles: true, tracked: [] },
    );
    assert.deepEqual(
      windows.map((w) => w.box),
      [
        { x: 0, y: 0, width: 1000, height: 500 },
        { x: 400, y: 100, width: 200, height: 200 },
      ],
    );
  });

  it('follows small tracked faces in a 4:3 window around them, kept inside the frame', () => {
    const windows = searchWindows(1280, 720, settings, {
      tiles: false,
      tracked: [
        { x: 600, y: 300, width: 50, height: 60 },
        { x: 10, y: 650, width: 60, height: 60 },
        { x: 300, y: 300, width: 200, height: 220 },
      ],
    });
    // The large face needs no second look.
    assert.equal(windows.length, 3);
    assert.deepEqual(windows[1]!.box, { x: 525, y: 255, width: 200, height: 150 });
    assert.deepEqual(windows[1]!.innerEdges, { left: true, top: true, right: true, bottom: true });
    assert.deepEqual(windows[2]!.box, { x: 0, y: 540, width: 240, height: 180 });
    assert.deepEqual(windows[2]!.innerEdges, { left: false, top: true, right: true, bottom: false });
  });

  it('merges one face found in several windows and drops parts of a face', () => {
    const merged = mergeDetections(
      [face(100, 100, 80, 0.9), face(102, 98, 82, 0.95), face(120, 120, 30, 0.8), face(500, 300, 40, 0.7)],
      0.3,
      16,
    );
    assert.deepEqual(
      merged.map((f) => [f.box.x, f.score]),
      [
        [102, 0.95],
        [500, 0.7],
      ],
    );
    assert.equal(mergeDetections([face(0, 0, 10, 0.9), face(100, 0, 10, 0.8)], 0.3, 1).length, 1);
  });
});
