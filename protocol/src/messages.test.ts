import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtocolErrorCode } from './errors.ts';
import { ackSchema, MAX_BYTES, statusSchema, syncRequestSchema, syncResponseSchema } from './messages.ts';
import { decodePayload } from './payload.ts';
import { isTpError } from './tp-error.ts';
import { uuidv7 } from './uuidv7.ts';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isTpError(e)) return e.code;
    throw e;
  }
  return 'accepted';
};

test('acks, status, sync request and response decode with defaults', () => {
  const id = uuidv7();
  assert.deepEqual(decodePayload(ackSchema, JSON.stringify({ v: 1, ids: [id] }), MAX_BYTES.acks, 'ack'), {
    v: 1,
    ids: [id],
    rejected: [],
  });
  const will = decodePayload(statusSchema, '{"v":1,"state":"offline"}', MAX_BYTES.status, 'status');
  assert.equal(will.state, 'offline');
  const status = {
    v: 1,
    state: 'online',
    at: '2026-11-22T08:00:00.000Z',
    backlog: 3,
    rosterSeq: 12,
    modelPack: 'default-1.0.0',
    cameras: [
      {
        id: 'cam-a',
        state: 'ok',
        inputFps: 25,
        analysedFps: 5,
        droppedFrames: 2,
        decodeErrors: 0,
        reconnects: 1,
        lastFrameAgeMs: 40,
      },
    ],
    storage: { outboxBytes: 4096, freeBytes: 1e9, nearFull: false },
  };
  assert.deepEqual(decodePayload(statusSchema, JSON.stringify(status), MAX_BYTES.status, 'status'), status);
  const request = decodePayload(
    syncRequestSchema,
    JSON.stringify({ v: 1, requestId: id, afterSeq: 0 }),
    MAX_BYTES.syncRequest,
    'sync',
  );
  assert.equal(request.limit, 100);
  const response = { v: 1, requestId: id, changes: [], currentSeq: 0, more: false };
  assert.deepEqual(
    decodePayload(syncResponseSchema, JSON.stringify(response), MAX_BYTES.syncResponse, 'sync'),
    response,
  );
});

test('malformed control messages are refused with their codes', () => {
  const id = uuidv7();
  assert.equal(
    codeOf(() =>
      decodePayload(ackSchema, JSON.stringify({ v: 1, ids: ['not-a-uuid'] }), MAX_BYTES.acks, 'ack'),
    ),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => decodePayload(ackSchema, JSON.stringify({ v: 2, ids: [id] }), MAX_BYTES.acks, 'ack')),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() =>
      decodePayload(
        statusSchema,
        JSON.stringify({ v: 1, state: 'online', backlog: -1 }),
        MAX_BYTES.status,
        'status',
      ),
    ),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() =>
      decodePayload(
        syncRequestSchema,
        JSON.stringify({ v: 1, requestId: id, afterSeq: 0, limit: 5000 }),
        MAX_BYTES.syncRequest,
        's',
      ),
    ),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() =>
      decodePayload(
        syncRequestSchema,
        JSON.stringify({ v: 1, requestId: id, afterSeq: 0, pad: 'x'.repeat(2000) }),
        MAX_BYTES.syncRequest,
        's',
      ),
    ),
    ProtocolErrorCode.payloadTooLarge,
  );
});
