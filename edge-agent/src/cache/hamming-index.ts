import { readFileSync } from 'node:fs';
import { EMBEDDING_DIMENSIONS } from '@truepresence/protocol';
import initWabt from 'wabt';

/** Bytes of a template's sign code: one bit per dimension. */
export const CODE_BYTES = EMBEDDING_DIMENSIONS / 8;

interface KernelExports {
  memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  scan(query: number, codes: number, count: number, out: number, histogram: number): void;
}

/** The part of the WebAssembly JS API used here: its types are in TypeScript's DOM lib, not loaded here. */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const wabt = await initWabt();
const wat = wabt.parseWat('hamming.wat', readFileSync(new URL('./hamming.wat', import.meta.url), 'utf8'), {
  bulk_memory: true,
});
const kernel = new Module(wat.toBinary({}).buffer);
wat.destroy();

/** Memory layout of a kernel instance: query code, histogram, then the codes and after them the distances. */
const QUERY_AT = 0;
const HISTOGRAM_AT = CODE_BYTES;
const CODES_AT = 4096;
const WASM_PAGE_BYTES = 65_536;
const MIN_CAPACITY = 1024;

/** The sign code of a vector: bit i (least significant first in each byte) is set when value i is > 0. */
export function signCode(vector: Float32Array): Uint8Array {
  const code = new Uint8Array(CODE_BYTES);
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) {
    if (vector[i]! > 0) code[i >> 3]! |= 1 << (i & 7);
  }
  return code;
}

/**
 * The sign codes of the cache's templates, in WebAssembly memory (64 bytes each, 6.4 MB at 100k), keyed by
 * template row id: `nearest` scans them all with the kernel in hamming.wat (i64.popcnt). A removed code is
 * overwritten with zeros, so an erased template leaves no bits behind in memory either.
 */
export class HammingIndex {
  readonly #kernel: KernelExports;
  #bytes: Uint8Array;
  #capacity = 0;
  /** Slot -> template row id; codes fill the slots densely. */
  readonly #ids: number[] = [];
  readonly #slots = new Map<number, number>();

  constructor() {
    this.#kernel = new Instance(kernel).exports as unknown as KernelExports;
    this.#bytes = new Uint8Array(this.#kernel.memory.buffer);
    this.#reserve(MIN_CAPACITY);
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Adds the code of template row `id`, or replaces it. */
  add(id: number, code: Uint8Array): void {
    let slot = this.#slots.get(id);
    if (slot === undefined) {
      slot = this.#ids.length;
      if (slot === this.#capacity) this.#reserve(this.#capacity * 2);
      this.#ids.push(id);
      this.#slots.set(id, slot);
    }
    this.#bytes.set(code.subarray(0, CODE_BYTES), CODES_AT + slot * CODE_BYTES);
  }

  /** Removes the code of template row `id`: the last code moves into its slot, the last slot is zeroed. */
  remove(id: number): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#slots.delete(id);
    const last = this.#ids.length - 1;
    const lastAt = CODES_AT + last * CODE_BYTES;
    if (slot !== last) {
      const moved = this.#ids[last]!;
      this.#ids[slot] = moved;
      this.#slots.set(moved, slot);
      this.#bytes.copyWithin(CODES_AT + slot * CODE_BYTES, lastAt, lastAt + CODE_BYTES);
    }
    this.#ids.pop();
    this.#bytes.fill(0, lastAt, lastAt + CODE_BYTES);
  }

  /** Row ids of the `count` codes nearest to `query` by Hamming distance (of equals, the first stored). */
  nearest(query: Uint8Array, count: number): number[] {
    const size = this.#ids.length;
    if (count >= size) return [...this.#ids];
    const distancesAt = CODES_AT + this.#capacity * CODE_BYTES;
    this.#bytes.set(query.subarray(0, CODE_BYTES), QUERY_AT);
    this.#kernel.scan(QUERY_AT, CODES_AT, size, distancesAt, HISTOGRAM_AT);
    const { buffer } = this.#kernel.memory;
    const histogram = new Uint32Array(buffer, HISTOGRAM_AT, EMBEDDING_DIMENSIONS + 1);
    // The distance the count-th nearest code has: all codes below it are taken, and of it as many as fit.
    let limit = 0;
    let below = 0;
    while (below + histogram[limit]! < count) below += histogram[limit++]!;
    let ties = count - below;
    const distances = new Uint16Array(buffer, distancesAt, size);
    const ids: number[] = [];
    for (let slot = 0; slot < size; slot++) {
      const distance = distances[slot]!;
      if (distance < limit || (distance === limit && ties-- > 0)) ids.push(this.#ids[slot]!);
    }
    return ids;
  }

  #reserve(capacity: number): void {
    const needed = CODES_AT + capacity * (CODE_BYTES + 2);
    const { memory } = this.#kernel;
    const missing = Math.ceil((needed - memory.buffer.byteLength) / WASM_PAGE_BYTES);
    if (missing > 0) memory.grow(missing);
    this.#bytes = new Uint8Array(memory.buffer);
    this.#capacity = capacity;
  }
}
