import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatestFrameSlot } from './latest-frame-slot.ts';

test('an empty slot gives nothing', () => {
  const slot = new LatestFrameSlot<number>();
  assert.equal(slot.ready, false);
  assert.equal(slot.take(), undefined);
  assert.deepEqual(slot.counts, { put: 0, taken: 0, dropped: 0 });
});

test('a newer item replaces one not yet taken and counts a drop', () => {
  const slot = new LatestFrameSlot<number>();
  assert.equal(slot.put(1), false);
  assert.equal(slot.put(2), true);
  assert.equal(slot.put(3), true);
  assert.equal(slot.ready, true);
  assert.equal(slot.take(), 3);
  assert.equal(slot.ready, false);
  assert.equal(slot.take(), undefined);
  assert.deepEqual(slot.counts, { put: 3, taken: 1, dropped: 2 });
});

test('items taken in time are never dropped', () => {
  const slot = new LatestFrameSlot<number>();
  for (let i = 0; i < 100; i++) {
    slot.put(i);
    assert.equal(slot.take(), i);
  }
  assert.deepEqual(slot.counts, { put: 100, taken: 100, dropped: 0 });
});

test('a falsy item is still an item', () => {
  const slot = new LatestFrameSlot<number | null>();
  slot.put(null);
  assert.equal(slot.ready, true);
  assert.equal(slot.take(), null);
  assert.equal(slot.counts.taken, 1);
});
