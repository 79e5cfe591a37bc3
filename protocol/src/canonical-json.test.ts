import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from './canonical-json.ts';
import { ProtocolErrorCode } from './errors.ts';
import { isTpError } from './tp-error.ts';

const fromBits = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

test('RFC 8785 appendix B number serialisation', () => {
  const vectors: Array<[string, string]> = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['41b3de4355555555', '333333333.3333333'],
  ];
  for (const [bits, expected] of vectors) assert.equal(canonicalJson(fromBits(bits)), expected, bits);
});

test('RFC 8785 section 3.2.2 example', () => {
  const input = JSON.parse(
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
      '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
  );
  assert.equal(
    canonicalJson(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
  );
});

test('RFC 8785 section 3.2.3 property sorting by UTF-16 code units', () => {
  const input = JSON.parse(
    '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
      '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
  );
  const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
  // Integer-like keys are reordered by JSON.parse itself, so compare the canonical text instead.
  assert.equal(keys.length, 7);
  const text = canonicalJson(input);
  const order = ['"\\r"', '"1"', '"\u0080"', '"ö"', '"€"', '"😀"', '"\ufb33"'].map((k) =>
    text.indexOf(`${k}:`),
  );
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
  );
  assert.ok(order.every((i) => i >= 0));
});

test('values without a canonical form are refused with a code', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, { a: Number.NEGATIVE_INFINITY }, undefined]) {
    assert.throws(
      () => canonicalJson(bad),
      (e) => isTpError(e, ProtocolErrorCode.notCanonicalizable),
    );
  }
});
