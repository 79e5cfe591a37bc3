import type { z } from 'zod';
import { describeIssues } from './config.ts';
import { ProtocolErrorCode, protocolError } from './errors.ts';

export const MAX_JSON_DEPTH = 16;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Nesting depth of JSON text, counted outside strings, without parsing (so a hostile payload cannot overflow the stack). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Bytes off the wire -> JSON value, refusing oversize, non-UTF-8, non-JSON and too deeply nested payloads. */
export function parseJsonPayload(payload: Uint8Array | string, maxBytes: number): unknown {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) {
    throw protocolError(
      ProtocolErrorCode.payloadTooLarge,
      `payload of ${size} bytes exceeds the limit of ${maxBytes}`,
      {
        size,
        maxBytes,
      },
    );
  }
  let text: string;
  if (typeof payload === 'string') text = payload;
  else {
    try {
      text = utf8.decode(payload);
    } catch (cause) {
      throw protocolError(ProtocolErrorCode.payloadNotUtf8, 'payload is not valid UTF-8', {}, cause);
    }
  }
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw protocolError(
      ProtocolErrorCode.payloadTooDeep,
      `payload nests ${depth} levels; at most ${MAX_JSON_DEPTH}`,
      {
        depth,
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.payloadNotJson,
      `payload is not JSON: ${(cause as Error).message}`,
      {},
      cause,
    );
  }
}

/** Validates a parsed value against a wire schema, throwing TP_PROTO_SCHEMA with every bad field named. */
export function validatePayload<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw protocolError(ProtocolErrorCode.schema, `${what} does not match the schema: ${problems.join('; ')}`, {
    problems,
  });
}

/** Both steps at once: the usual way to read an MQTT payload. */
export function decodePayload<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array | string,
  maxBytes: number,
  what: string,
): z.output<S> {
  return validatePayload(schema, parseJsonPayload(payload, maxBytes), what);
}
