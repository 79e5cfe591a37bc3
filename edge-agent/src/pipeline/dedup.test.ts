import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecentAttendance } from './dedup.ts';

describe('RecentAttendance', () => {
  it('admits a person once per entrance within the interval', () => {
    const recent = new RecentAttendance(60_000);
    assert.equal(recent.admit('front', 'ann', 1_000), true);
    assert.equal(recent.admit('front', 'ann', 30_000), false);
    assert.equal(recent.admit('back', 'ann', 30_000), true);
    assert.equal(recent.admit('front', 'bob', 30_000), true);
    assert.equal(recent.admit('front', 'ann', 61_000), true);
  });

  it('forgets an attendance that could not be stored, and prunes old entries', () => {
    const recent = new RecentAttendance(10_000);
    assert.equal(recent.admit('front', 'ann', 0), true);
    recent.forget('front', 'ann');
    assert.equal(recent.admit('front', 'ann', 1_000), true);
    recent.admit('front', 'bob', 2_000);
    assert.equal(recent.size, 2);
    recent.admit('front', 'cid', 50_000);
    assert.equal(recent.size, 1);
  });
});
