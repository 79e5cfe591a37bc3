import canonicalizeModule from 'canonicalize';
import { ProtocolErrorCode, protocolError } from './errors.ts';

// canonicalize is CommonJS (`module.exports = fn`) while its typings declare an ES default export.
const serialize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a value: object keys sorted by UTF-16 code units,
 * no whitespace, ECMAScript number formatting. NaN and Infinity have no canonical form and are refused.
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = serialize(value);
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.notCanonicalizable,
      `value has no RFC 8785 form: ${(cause as Error).message}`,
      {},
      cause,
    );
  }
  if (text === undefined) {
    throw protocolError(
      ProtocolErrorCode.notCanonicalizable,
      'value has no JSON form (undefined or a function)',
    );
  }
  return text;
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}
