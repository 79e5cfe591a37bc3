import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CODE_BYTES, HammingIndex, signCode } from './hamming-index.ts';
import { syntheticFaces } from './synthetic.ts';

function distance(a: Uint8Array, b: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < CODE_BYTES; i++) {
    for (let x = a[i]! ^ b[i]!; x !== 0; x &= x - 1) bits++;
  }
  return bits;
}

function randomCode(random: () => number): Uint8Array {
  return Uint8Array.from({ length: CODE_BYTES }, () => Math.floor(random() * 256));
}

/** The distances of the `count` nearest codes, by brute force: what `nearest` must match (ties aside). */
function nearestDistances(codes: Map<number, Uint8Array>, query: Uint8Array, count: number): number[] {
  return [...codes.values()]
    .map((code) => distance(code, query))
    .sort((a, b) => a - b)
    .slice(0, count);
}

describe('hamming index', () => {
  const faces = syntheticFaces(11);

  it('sets bit i of the sign code when value i is positive', () => {
    const vector = new Float32Array(512);
    vector[0] = 0.5;
    vector[9] = 1;
    vector[10] = -1;
    vector[511] = 1e-9;
    const code = signCode(vector);
    assert.equal(code.length, CODE_BYTES);
    assert.equal(code[0], 1);
    assert.equal(code[1], 2);
    assert.equal(code[63], 128);
    assert.equal(
      code.reduce((sum, byte) => sum + byte, 0),
      131,
    );
  });

  it('finds the nearest codes as a brute-force scan does, through growth, replacement and removal', () => {
    const index = new HammingIndex();
    const codes = new Map<number, Uint8Array>();
    // Past the first capacity (1024), so the memory grows and the codes must survive it.
    for (let id = 1; id <= 3000; id++) {
      const code = randomCode(faces.random);
      index.add(id * 7, code);
      codes.set(id * 7, code);
    }
    for (let id = 7; id <= 7 * 3000; id += 7 * 3) {
      index.remove(id);
      codes.delete(id);
    }
    for (let id = 14; id <= 7 * 3000; id += 7 * 5) {
      if (!codes.has(id)) continue;
      const code = randomCode(faces.random);
      index.add(id, code);
      codes.set(id, code);
    }
    index.remove(123_456);
    assert.equal(index.size, codes.size);
    for (let q = 0; q < 40; q++) {
      const query = randomCode(faces.random);
      const count = 1 + (q % 20);
      const ids = index.nearest(query, count);
      assert.equal(ids.length, count);
      assert.equal(new Set(ids).size, count);
      const found = ids.map((id) => distance(codes.get(id)!, query)).sort((a, b) => a - b);
      assert.deepEqual(found, nearestDistances(codes, query, count));
    }
  });

  it('finds a stored code at distance 0 and nothing once it is removed', () => {
    const index = new HammingIndex();
    const centre = faces.identity();
    const own = signCode(faces.capture(centre));
    index.add(1, own);
    for (let id = 2; id <= 500; id++) index.add(id, signCode(faces.capture(faces.identity())));
    assert.deepEqual(index.nearest(own, 1), [1]);
    index.remove(1);
    assert.equal(index.size, 499);
    assert.ok(!index.nearest(own, 499).includes(1));
  });

  it('answers with every id when asked for as many as it holds or more', () => {
    const index = new HammingIndex();
    assert.deepEqual(index.nearest(randomCode(faces.random), 3), []);
    index.add(5, randomCode(faces.random));
    index.add(9, randomCode(faces.random));
    assert.deepEqual(index.nearest(randomCode(faces.random), 2).sort(), [5, 9]);
    assert.deepEqual(index.nearest(randomCode(faces.random), 10).sort(), [5, 9]);
  });
});
