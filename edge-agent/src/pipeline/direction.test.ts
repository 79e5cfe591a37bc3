import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DirectionRule, directionOf } from './direction.ts';

/** A path sampled every 200 ms (5 analysed frames per second). */
const path = (...points: Array<[number, number]>) => points.map(([x, y], i) => ({ x, y, at: i * 200 }));
// Walking from the left edge to the right edge, the right-hand side is the lower half of the image.
const middle: DirectionRule = { type: 'line', from: [0, 0.5], to: [1, 0.5] };

describe('directionOf', () => {
  it('reads a line crossing: downwards across from->to (left to right) is in, upwards is out', () => {
    assert.equal(directionOf(middle, path([0.5, 0.3], [0.5, 0.45], [0.52, 0.6])), 'in');
    assert.equal(directionOf(middle, path([0.5, 0.7], [0.5, 0.55], [0.52, 0.4])), 'out');
    const reversed: DirectionRule = { type: 'line', from: [1, 0.5], to: [0, 0.5] };
    assert.equal(directionOf(reversed, path([0.5, 0.3], [0.5, 0.6])), 'out');
  });

  it('ignores crossings outside the segment and uses the heading for a track that has not crossed yet', () => {
    const short: DirectionRule = { type: 'line', from: [0.4, 0.5], to: [0.6, 0.5] };
    // Crosses y = 0.5 at x = 0.9, beside the segment: no crossing; the track moves down across the line.
    assert.equal(directionOf(short, path([0.9, 0.3], [0.9, 0.7])), 'in');
    // 0.01 of the frame per 200 ms: 5% per second towards the inside, well before the line.
    assert.equal(directionOf(middle, path([0.5, 0.2], [0.51, 0.21], [0.5, 0.22], [0.52, 0.23])), 'in');
    assert.equal(directionOf(middle, path([0.5, 0.4], [0.5, 0.39], [0.5, 0.38])), 'out');
    // Walking along the line, jittering up and down: under 2% of the frame per second across it.
    assert.equal(directionOf(middle, path([0.2, 0.4], [0.4, 0.402], [0.6, 0.399], [0.8, 0.401])), null);
    assert.equal(directionOf(middle, path([0.5, 0.2])), null);
    assert.equal(directionOf(middle, []), null);
  });

  it('counts the net crossings of a track that went back and forth', () => {
    assert.equal(directionOf(middle, path([0.5, 0.4], [0.5, 0.6], [0.5, 0.4], [0.5, 0.6])), 'in');
    assert.equal(directionOf(middle, path([0.5, 0.6], [0.5, 0.4], [0.5, 0.6], [0.5, 0.4])), 'out');
    // In and back out again: no passage.
    assert.equal(directionOf(middle, path([0.5, 0.4], [0.5, 0.6], [0.5, 0.4])), null);
  });

  it('reads a zone: entering it is in, leaving it is out, staying is unknown', () => {
    const zone: DirectionRule = {
      type: 'zone',
      polygon: [
        [0, 0.6],
        [1, 0.6],
        [1, 1],
        [0, 1],
      ],
    };
    assert.equal(directionOf(zone, path([0.5, 0.3], [0.5, 0.7])), 'in');
    assert.equal(directionOf(zone, path([0.5, 0.9], [0.5, 0.4])), 'out');
    assert.equal(directionOf(zone, path([0.2, 0.8], [0.7, 0.8])), null);
  });

  it('gives the fixed direction, or none', () => {
    assert.equal(directionOf({ type: 'fixed', value: 'out' }, []), 'out');
    assert.equal(directionOf({ type: 'none' }, path([0, 0], [1, 1])), null);
  });
});
