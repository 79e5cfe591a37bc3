import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trackLiveness } from './track-liveness.ts';

const rule = { liveHits: 2, liveWindow: 3, liveAbove: 0.6, spoofBelow: 0.45, minSamples: 4, rigidPoseDeg: 4 };
/** A flat picture: its apparent pose stays put (landmark noise only). */
const still = (scores: readonly number[]) =>
  scores.map((live, i) => ({ live, yawDeg: 3 + (i % 2) * 1.5, pitchDeg: -2 + (i % 3) * 1 }));
/** A head looking around as it walks. */
const turning = (scores: readonly number[]) =>
  scores.map((live, i) => ({ live, yawDeg: (i % 2) * 16 - 8, pitchDeg: (i % 3) * 5 }));

describe('track liveness', () => {
  it('is live once two of three consecutive faces look live, however still the pose', () => {
    // Far and small at first (low scores), then close: live from the window 0.9, 0.1, 0.8.
    const walker = still([0.05, 0.02, 0.3, 0.9, 0.1, 0.8]);
    const result = trackLiveness(walker, rule, false);
    assert.equal(result.verdict, 'live');
    assert.equal(result.score, 0.8);
    assert.ok(result.poseChangeDeg !== null && result.poseChangeDeg < 4);
    assert.equal(trackLiveness(walker.slice(0, 5), rule, false).verdict, 'pending');
  });

  it('does not take isolated live-looking frames for a live face', () => {
    // A photo with a lucky frame now and then: 0.9 and 0.8 are never two in any three consecutive faces.
    const photo = still([0.9, 0.1, 0.05, 0.8, 0.02, 0.1, 0.05, 0.85, 0.03]);
    const pending = trackLiveness(photo, rule, false);
    assert.equal(pending.verdict, 'pending');
    assert.equal(pending.score, 0.1);
    assert.equal(trackLiveness(photo, rule, true).verdict, 'spoof');
  });

  it('calls a spoof only at the final verdict, and only with enough faces', () => {
    const low = still([0.01, 0.03, 0.12, 0.0, 0.02, 0.05]);
    assert.equal(trackLiveness(low, rule, false).verdict, 'pending');
    assert.equal(trackLiveness(low, rule, true).verdict, 'spoof');
    assert.equal(trackLiveness(low.slice(0, 3), rule, true).verdict, 'unverified');
    assert.equal(trackLiveness([], rule, true).score, 0);
  });

  it('uses the temporal cue only for a final score between spoofBelow and liveAbove', () => {
    const borderline = [0.2, 0.5, 0.55, 0.1, 0.3, 0.2];
    assert.equal(trackLiveness(still(borderline), rule, true).verdict, 'spoof');
    assert.equal(trackLiveness(turning(borderline), rule, true).verdict, 'live');
    const clearlyLow = [0.2, 0.25, 0.4, 0.1, 0.05, 0.2];
    assert.equal(trackLiveness(turning(clearlyLow), rule, true).verdict, 'spoof');
  });
});
