import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import { zeroDenormalInitializers } from './onnx-denormals.ts';

function varint(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}
const field = (number: number, wire: number) => varint(number * 8 + wire);
const bytesField = (number: number, body: number[]) => [...field(number, 2), ...varint(body.length), ...body];
const floats = (values: number[]) => [
  ...new Uint8Array(new Float32Array(values.map((v) => (Object.is(v, -0) ? 0 : v))).buffer),
];

const denormal = 1e-40;
function tensor(dataType: number, body: number[]): number[] {
  return bytesField(5, [
    ...field(2, 0),
    ...varint(dataType),
    ...bytesField(8, [...Buffer.from('w')]),
    ...body,
  ]);
}

describe('zeroDenormalInitializers', () => {
  it('zeroes denormal floats in raw_data and float_data of FLOAT initializers only, in place', () => {
    const build = (d: number) => {
      const raw = tensor(1, bytesField(9, floats([1.5, d, 0, -d, -2])));
      const packed = tensor(1, bytesField(4, floats([d, 3])));
      const int32 = tensor(6, bytesField(9, floats([denormal])));
      const graph = bytesField(7, [...bytesField(1, [...Buffer.from('node')]), ...raw, ...packed, ...int32]);
      return new Uint8Array([...field(1, 0), ...varint(8), ...graph]);
    };
    const model = build(denormal);
    const report = zeroDenormalInitializers(model);
    assert.deepEqual(report, { tensors: 2, zeroed: 3 });
    // -0 and +0 differ in the sign bit: the walker writes +0 for both.
    const expected = build(0);
    assert.deepEqual(model, expected);
  });

  it('rejects bytes that are not an ONNX model', () => {
    assert.throws(
      () => zeroDenormalInitializers(new Uint8Array([0x0a, 0x05, 1])),
      (e: unknown) => isTpError(e, 'TP_MODEL_ONNX_INVALID'),
    );
    assert.throws(
      () => zeroDenormalInitializers(new Uint8Array([0x08, 0x01])),
      (e: unknown) => isTpError(e, 'TP_MODEL_ONNX_INVALID'),
    );
  });
});
