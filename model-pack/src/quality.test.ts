import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Affine, applyAffine, arcfaceTemplate112, type Landmarks5 } from './geometry.ts';
import type { RgbImage } from './image.ts';
import { measureQuality, qualityIssues } from './quality.ts';

function texture(blur: boolean): RgbImage {
  const data = new Uint8Array(112 * 112 * 3);
  for (let y = 0; y < 112; y++) {
    for (let x = 0; x < 112; x++) {
      const v = blur ? 128 + 20 * Math.sin(x / 9) : (x * 7 + y * 13) % 2 === 0 ? 200 : 60;
      data.fill(v, (y * 112 + x) * 3, (y * 112 + x) * 3 + 3);
    }
  }
  return { data, width: 112, height: 112 };
}

const limits = {
  minFacePx: 40,
  minInterEyePx: 18,
  minSharpness: 50,
  minBrightness: 40,
  maxBrightness: 220,
  maxYawDeg: 40,
  maxPitchDeg: 30,
  maxRollDeg: 45,
};
const box = { x: 0, y: 0, width: 112, height: 112 };

describe('quality', () => {
  it('reads a frontal face as level and an in-plane rotation as roll', () => {
    const frontal = measureQuality(box, arcfaceTemplate112, texture(false));
    assert.ok(Math.abs(frontal.rollDeg) < 1, `roll ${frontal.rollDeg}`);
    assert.ok(Math.abs(frontal.yawDeg) < 3, `yaw ${frontal.yawDeg}`);
    assert.ok(Math.abs(frontal.pitchDeg) < 10, `pitch ${frontal.pitchDeg}`);
    const a = (30 * Math.PI) / 180;
    const rotate: Affine = [Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0];
    const tilted = arcfaceTemplate112.map((p) => applyAffine(rotate, p)) as unknown as Landmarks5;
    assert.ok(Math.abs(measureQuality(box, tilted, texture(false)).rollDeg - frontal.rollDeg - 30) < 1e-6);
  });

  it('sees a head turn when the nose moves towards one eye', () => {
    const [l, r, nose, ml, mr] = arcfaceTemplate112;
    const turned: Landmarks5 = [l, r, { x: nose.x + 12, y: nose.y }, ml, mr];
    assert.ok(measureQuality(box, turned, texture(false)).yawDeg > 25);
  });

  it('flags blur, darkness and a small face', () => {
    const sharp = measureQuality(box, arcfaceTemplate112, texture(false));
    const blurred = measureQuality({ x: 0, y: 0, width: 30, height: 30 }, arcfaceTemplate112, texture(true));
    assert.ok(sharp.sharpness > 100 * blurred.sharpness);
    assert.deepEqual(qualityIssues(sharp, limits), []);
    assert.deepEqual(qualityIssues({ ...blurred, brightness: 10 }, limits), [
      'face-too-small',
      'blurry',
      'too-dark',
    ]);
  });
});
