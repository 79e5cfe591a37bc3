import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Tracker } from './tracker.ts';

const settings = { minIou: 0.2, maxCenterJump: 1, maxMissedFrames: 2 };
const box = (x: number, y: number, size: number) => ({ x, y, width: size, height: size });

describe('Tracker', () => {
  it('keeps one id per face for two faces whose paths cross, through a short occlusion', () => {
    const tracker = new Tracker(settings);
    const ids = new Map<string, Set<number>>([
      ['a', new Set()],
      ['b', new Set()],
    ]);
    for (let frame = 0; frame < 12; frame++) {
      const at = frame * 200;
      // a walks right, b walks left along a lower row; a is hidden on frames 5 and 6.
      const a = box(100 + frame * 40, 100, 80);
      const b = box(600 - frame * 40, 260, 80);
      const hidden = frame === 5 || frame === 6;
      const { trackIds, ended } = tracker.update(hidden ? [b] : [a, b], at);
      assert.deepEqual(ended, []);
      if (hidden) ids.get('b')!.add(trackIds[0]!);
      else {
        ids.get('a')!.add(trackIds[0]!);
        ids.get('b')!.add(trackIds[1]!);
      }
    }
    assert.equal(ids.get('a')!.size, 1);
    assert.equal(ids.get('b')!.size, 1);
    assert.notDeepEqual([...ids.get('a')!], [...ids.get('b')!]);
  });

  it('follows a small face that moves farther than its own width between frames once its motion is known', () => {
    const tracker = new Tracker(settings);
    const seen = new Set<number>();
    let x = 50;
    for (let frame = 0; frame < 10; frame++) {
      // A 30 px face: 25 px per frame at first (too little overlap for IoU), then 45 px (no overlap at all).
      const { trackIds } = tracker.update([box(x, 300, 30)], frame * 200);
      seen.add(trackIds[0]!);
      x += frame < 3 ? 25 : 45;
    }
    assert.equal(seen.size, 1);
  });

  it('ends a track after more missed frames than allowed, and a later face starts a new one', () => {
    const tracker = new Tracker(settings);
    const first = tracker.update([box(100, 100, 80)], 0).trackIds[0]!;
    assert.deepEqual(tracker.update([], 200).ended, []);
    assert.deepEqual(tracker.update([], 400).ended, []);
    const { ended } = tracker.update([], 600);
    assert.deepEqual(
      ended.map((t) => t.id),
      [first],
    );
    const next = tracker.update([box(100, 100, 80)], 800).trackIds[0]!;
    assert.notEqual(next, first);
  });

  it('does not match a face to a track far away or of a very different size', () => {
    const tracker = new Tracker(settings);
    const a = tracker.update([box(100, 100, 80)], 0).trackIds[0]!;
    const { trackIds } = tracker.update([box(900, 500, 80), box(110, 100, 300)], 200);
    assert.ok(!trackIds.includes(a));
    assert.equal(new Set(trackIds).size, 2);
  });

  it('expire ends the tracks last seen before a time', () => {
    const tracker = new Tracker(settings);
    tracker.update([box(100, 100, 80)], 0);
    tracker.update([box(400, 100, 80), box(104, 100, 80)], 1000);
    assert.equal(tracker.expire(500).length, 0);
    assert.equal(tracker.expire(Number.POSITIVE_INFINITY).length, 2);
    assert.equal(tracker.active.length, 0);
  });
});
