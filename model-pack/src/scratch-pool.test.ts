import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Scratch, ScratchPool } from './scratch-pool.ts';

test('calls in flight together each get their own scratch; a finished call hands it on', async () => {
  const pool = new ScratchPool(16);
  const seen: Scratch[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const hold = (scratch: Scratch) => {
    seen.push(scratch);
    return gate;
  };
  const both = Promise.all([pool.use(hold), pool.use(hold)]);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(seen.length, 2);
  assert.notEqual(seen[0], seen[1]);
  assert.notEqual(seen[0]!.buffer, seen[1]!.buffer);
  assert.equal(seen[0]!.buffer.length, 16);
  release();
  await both;
  const again = await pool.use(async (scratch) => scratch);
  assert.ok(again === seen[0] || again === seen[1]);
});

test('a failed call hands its scratch back too', async () => {
  const pool = new ScratchPool(4);
  let first: Scratch | undefined;
  await assert.rejects(
    pool.use(async (scratch) => {
      first = scratch;
      throw new Error('model failed');
    }),
  );
  assert.equal(await pool.use(async (scratch) => scratch), first);
});
