import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuidv7, uuidv7Schema, uuidv7Time } from './uuidv7.ts';

test('UUIDv7 ids carry their time, the version and variant bits, and sort in creation order', () => {
  const now = Date.UTC(2026, 10, 22, 8, 0, 0, 123);
  const id = uuidv7(now);
  assert.ok(uuidv7Schema.safeParse(id).success, id);
  assert.equal(uuidv7Time(id), now);
  const ids = Array.from({ length: 10_000 }, () => uuidv7(now + 1));
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  assert.ok(ids.every((x) => uuidv7Schema.safeParse(x).success));
});
