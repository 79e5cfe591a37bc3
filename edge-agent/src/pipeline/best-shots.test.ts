import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BestShots } from './best-shots.ts';

describe('BestShots', () => {
  it('keeps the best N by score, best first, and says beforehand whether a shot would be kept', () => {
    const shots = new BestShots<{ score: number; name: string }>(3);
    for (const [score, name] of [
      [0.2, 'a'],
      [0.9, 'b'],
      [0.5, 'c'],
    ] as const) {
      assert.equal(shots.wouldKeep(score), true);
      shots.add({ score, name });
    }
    assert.equal(shots.wouldKeep(0.1), false);
    shots.add({ score: 0.1, name: 'd' });
    assert.equal(shots.wouldKeep(0.6), true);
    shots.add({ score: 0.6, name: 'e' });
    assert.deepEqual(
      shots.list.map((s) => s.name),
      ['b', 'e', 'c'],
    );
    assert.equal(shots.size, 3);
  });
});
