import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FaceQuality, QualityLimits } from '@truepresence/model-pack';
import { gateFace, qualityScore } from './quality-gate.ts';

const limits: QualityLimits = {
  minFacePx: 40,
  minInterEyePx: 20,
  minSharpness: 50,
  minBrightness: 40,
  maxBrightness: 220,
  maxYawDeg: 30,
  maxPitchDeg: 30,
  maxRollDeg: 40,
};
const good: FaceQuality = {
  faceSizePx: 120,
  interEyePx: 45,
  sharpness: 400,
  brightness: 130,
  yawDeg: 0,
  pitchDeg: 0,
  rollDeg: 0,
};

describe('quality gate', () => {
  it('passes a good face with a high score', () => {
    const verdict = gateFace(good, limits, 0.99);
    assert.equal(verdict.pass, true);
    assert.deepEqual(verdict.issues, []);
    assert.ok(verdict.score > 0.95);
  });

  it('names every limit a face misses', () => {
    const verdict = gateFace(
      { ...good, interEyePx: 12, sharpness: 10, brightness: 20, yawDeg: -45 },
      limits,
      0.9,
    );
    assert.equal(verdict.pass, false);
    assert.deepEqual(verdict.issues.sort(), ['blurry', 'eyes-too-close', 'too-dark', 'yaw']);
  });

  it('ranks bigger, sharper, more frontal and better lit faces higher', () => {
    const base = qualityScore({ ...good, interEyePx: 25, sharpness: 80 }, limits, 0.9);
    assert.ok(qualityScore({ ...good, interEyePx: 35, sharpness: 80 }, limits, 0.9) > base);
    assert.ok(qualityScore({ ...good, interEyePx: 25, sharpness: 140 }, limits, 0.9) > base);
    assert.ok(qualityScore({ ...good, interEyePx: 25, sharpness: 80, yawDeg: 20 }, limits, 0.9) < base);
    assert.ok(qualityScore({ ...good, interEyePx: 25, sharpness: 80, brightness: 60 }, limits, 0.9) < base);
    assert.ok(qualityScore({ ...good, interEyePx: 25, sharpness: 80 }, limits, 0.6) < base);
  });
});
