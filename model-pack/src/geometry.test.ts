import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Affine,
  applyAffine,
  arcfaceTemplate112,
  estimateSimilarity,
  invertAffine,
  iou,
  nonMaxSuppression,
  shiftedCrop,
} from './geometry.ts';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

describe('geometry', () => {
  it('recovers a known rotation, scale and translation from five points', () => {
    const angle = 0.4;
    const scale = 2.5;
    const truth: Affine = [
      scale * Math.cos(angle),
      -scale * Math.sin(angle),
      30,
      scale * Math.sin(angle),
      scale * Math.cos(angle),
      -12,
    ];
    const moved = arcfaceTemplate112.map((p) => applyAffine(truth, p));
    const found = estimateSimilarity(arcfaceTemplate112, moved);
    for (const [i, v] of found.entries()) close(v, truth[i]!);
    const back = invertAffine(found);
    const p = applyAffine(back, applyAffine(found, { x: 7, y: -3 }));
    close(p.x, 7);
    close(p.y, -3);
  });

  it('suppresses overlapping boxes and keeps the best score first', () => {
    const boxes = [
      { x: 0, y: 0, width: 10, height: 10 },
      { x: 1, y: 1, width: 10, height: 10 },
      { x: 50, y: 50, width: 10, height: 10 },
    ];
    close(iou(boxes[0]!, boxes[0]!), 1);
    assert.equal(iou(boxes[0]!, boxes[2]!), 0);
    assert.deepEqual(nonMaxSuppression(boxes, [0.8, 0.9, 0.7], 0.4), [1, 2]);
    assert.deepEqual(nonMaxSuppression(boxes, [0.8, 0.9, 0.7], 0.4, 1), [1]);
  });

  it('keeps a shifted crop inside the image, shrinking the scale when needed', () => {
    const crop = shiftedCrop({ x: 5, y: 5, width: 40, height: 20 }, 2.7, false, 200, 60);
    assert.ok(crop.x >= 0 && crop.y >= 0);
    assert.ok(crop.x + crop.width <= 199 && crop.y + crop.height <= 59);
    close(crop.width, 40 * 2.7);
    const tooBig = shiftedCrop({ x: 20, y: 10, width: 50, height: 40 }, 2.7, true, 100, 60);
    close(tooBig.width, 59);
    close(tooBig.height, 59);
  });
});
