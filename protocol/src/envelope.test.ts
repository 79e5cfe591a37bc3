import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { canonicalJson } from './canonical-json.ts';
import {
  type ChainNeighbours,
  chainStart,
  checkChain,
  type DeviceKeyInfo,
  type EventEnvelope,
  envelopeHash,
  GENESIS_HASH,
  MAX_EVENT_BYTES,
  nextEnvelope,
  signEnvelope,
  type UnsignedEnvelope,
  verifyEvent,
} from './envelope.ts';
import { ProtocolErrorCode } from './errors.ts';
import { ed25519PrivateKeyFromSeed, generateEd25519KeyPair, publicKeyToBase64, signBytes } from './keys.ts';
import { isTpError } from './tp-error.ts';
import { uuidv7 } from './uuidv7.ts';

const seed = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const deviceKey = ed25519PrivateKeyFromSeed(seed);
const goldenUnsigned: UnsignedEnvelope = {
  v: 1,
  id: '01936f3c-8a2b-7c4d-9e5f-0123456789ab',
  site: 'hq',
  device: 'door-1',
  camera: 'cam-a',
  kind: 'attendance',
  personId: 'p-0042',
  direction: 'in',
  capturedAt: '2026-11-22T08:15:30.250Z',
  similarity: 0.8125,
  margin: 0.25,
  liveness: 0.97,
  quality: 0.88,
  rosterSeq: 17,
  modelPack: 'default-1.0.0',
  seq: 1,
  prev: GENESIS_HASH,
};

const keys = new Map<string, DeviceKeyInfo>([['hq/door-1', { publicKey: deviceKey, revoked: false }]]);
const context = { lookupKey: (site: string, device: string) => keys.get(`${site}/${device}`) };
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isTpError(e)) return e.code;
    throw e;
  }
  return 'accepted';
};

test('RFC 8032 test 1: the signing primitive matches the standard', () => {
  const key = ed25519PrivateKeyFromSeed(
    Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
  );
  assert.equal(
    Buffer.from(publicKeyToBase64(key), 'base64url').toString('hex'),
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  );
  assert.equal(
    Buffer.from(signBytes(new Uint8Array(0), key), 'base64url').toString('hex'),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  );
});

test('golden vector: a fixed key and envelope give a fixed signature and chain hash', () => {
  const signed = signEnvelope(goldenUnsigned, deviceKey);
  assert.equal(publicKeyToBase64(deviceKey), 'ebVWLo_mVPlAeLES6KmLp5AfhTrmlb7X4OORC60ElmQ');
  assert.equal(
    signed.sig,
    'PAq-eWRc6HAIwdyKftct7eNooxSpCh8iKauwwWVK6SOowxknvObqZUVtqiXPKHVRDc2IfSvpPrGATPTIdNUoDQ',
  );
  assert.equal(envelopeHash(signed), '02eef5bfb16a1be787c128b17bf5507cb723705bc5f9fbd4af5e942e4610b6c1');
  // Key order on the wire does not matter: the signature covers the canonical form.
  const reordered = Object.fromEntries(Object.entries(signed).reverse()) as EventEnvelope;
  assert.equal(verifyEvent(JSON.stringify(reordered), context).hash, envelopeHash(signed));
});

test('a chain of envelopes verifies and links', () => {
  let head = chainStart;
  const stored = new Map<number, { id: string; hash: string; prev: string }>();
  for (let i = 0; i < 5; i++) {
    const made = nextEnvelope(head, { ...goldenUnsigned, id: uuidv7() }, deviceKey);
    head = made.head;
    const verified = verifyEvent(Buffer.from(JSON.stringify(made.envelope)), {
      ...context,
      topic: { site: 'hq', device: 'door-1' },
    });
    const around: ChainNeighbours = { previous: stored.get(made.envelope.seq - 1), highestSeq: stored.size };
    assert.deepEqual(checkChain(verified, around), { status: 'linked' });
    stored.set(made.envelope.seq, { id: made.envelope.id, hash: verified.hash, prev: made.envelope.prev });
  }
  assert.equal(head.seq, 5);
});

test('forged, unknown, revoked, misplaced, truncated and malformed envelopes get their own codes', () => {
  const signed = signEnvelope(goldenUnsigned, deviceKey);
  const text = JSON.stringify(signed);
  const forged = signEnvelope(goldenUnsigned, generateEd25519KeyPair().privateKey);
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify(forged), context)),
    ProtocolErrorCode.signatureBad,
  );
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify({ ...signed, similarity: 0.99 }), context)),
    ProtocolErrorCode.signatureBad,
  );
  assert.equal(
    codeOf(() => verifyEvent(text, { lookupKey: () => undefined })),
    ProtocolErrorCode.keyUnknown,
  );
  assert.equal(
    codeOf(() => verifyEvent(text, { lookupKey: () => ({ publicKey: deviceKey, revoked: true }) })),
    ProtocolErrorCode.keyRevoked,
  );
  assert.equal(
    codeOf(() => verifyEvent(text, { ...context, topic: { site: 'hq', device: 'door-2' } })),
    ProtocolErrorCode.deviceMismatch,
  );
  assert.equal(
    codeOf(() => verifyEvent(text.slice(0, text.length - 20), context)),
    ProtocolErrorCode.payloadNotJson,
  );
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify({ ...signed, extra: 1 }), context)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify({ ...signed, seq: '1' }), context)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify({ ...signed, kind: 'unknown' }), context)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify({ ...signed, capturedAt: 'yesterday' }), context)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => verifyEvent('[]', context)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => verifyEvent(JSON.stringify({ ...signed, modelPack: 'x'.repeat(MAX_EVENT_BYTES) }), context)),
    ProtocolErrorCode.payloadTooLarge,
  );
  assert.equal(
    codeOf(() => verifyEvent(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), context)),
    ProtocolErrorCode.payloadNotUtf8,
  );
  assert.equal(
    codeOf(() => verifyEvent(`${'['.repeat(40)}${']'.repeat(40)}`, context)),
    ProtocolErrorCode.payloadTooDeep,
  );
  assert.equal(
    codeOf(() => verifyEvent('{"a":'.repeat(100_000), context)),
    ProtocolErrorCode.payloadTooLarge,
  );
});

test('chain checks: replay, duplicate redelivery, gap, reordering and broken links', () => {
  const first = nextEnvelope(chainStart, { ...goldenUnsigned, id: uuidv7() }, deviceKey);
  const second = nextEnvelope(first.head, { ...goldenUnsigned, id: uuidv7() }, deviceKey);
  const third = nextEnvelope(second.head, { ...goldenUnsigned, id: uuidv7() }, deviceKey);
  const v = (e: EventEnvelope) => verifyEvent(e, context);
  const resign = ({ sig: _, ...fields }: EventEnvelope, changes: Partial<UnsignedEnvelope>) =>
    signEnvelope({ ...fields, ...changes }, deviceKey);

  // Redelivery of a stored envelope is harmless; the same seq under a new id is a replay.
  assert.deepEqual(
    checkChain(v(first.envelope), { sameId: { seq: 1, hash: first.head.hash }, highestSeq: 1 }),
    {
      status: 'duplicate',
    },
  );
  const resent = resign(first.envelope, { id: uuidv7() });
  assert.equal(checkChain(v(resent), { sameSeq: { id: first.envelope.id }, highestSeq: 1 }).status, 'replay');

  // Third arrives while second is missing: a gap; then second arrives late and links both ways.
  const gap = checkChain(v(third.envelope), { highestSeq: 1 });
  assert.deepEqual(gap, { status: 'gap', code: ProtocolErrorCode.sequenceGap, missingFrom: 2, missingTo: 2 });
  assert.deepEqual(
    checkChain(v(second.envelope), {
      previous: { hash: first.head.hash },
      next: { prev: third.envelope.prev },
      highestSeq: 3,
    }),
    { status: 'linked' },
  );

  // An envelope whose prev does not match the stored predecessor breaks the chain.
  const altered = resign(second.envelope, { prev: 'f'.repeat(64) });
  assert.equal(
    checkChain(v(altered), { previous: { hash: first.head.hash }, highestSeq: 1 }).status,
    'broken',
  );
  // A stored successor that does not point at this envelope also breaks it (history rewritten).
  const rewritten = resign(second.envelope, { similarity: 0.5 });
  assert.deepEqual(
    checkChain(v(rewritten), {
      previous: { hash: first.head.hash },
      next: { prev: third.envelope.prev },
      highestSeq: 3,
    }),
    {
      status: 'broken',
      code: ProtocolErrorCode.chainBroken,
      side: 'next',
    },
  );
  // The first envelope of a device must start from the genesis hash.
  const badGenesis = resign(first.envelope, { prev: 'a'.repeat(64) });
  assert.equal(checkChain(v(badGenesis), { highestSeq: 0 }).status, 'broken');
});

test('property: any change to a field of a signed envelope is rejected', () => {
  const signed = signEnvelope(goldenUnsigned, deviceKey);
  const fields = Object.keys(signed) as Array<keyof EventEnvelope>;
  fc.assert(
    fc.property(
      fc.constantFrom(...fields),
      fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
      (field, value) => {
        fc.pre(JSON.stringify(value) !== JSON.stringify(signed[field]));
        const code = codeOf(() => verifyEvent(JSON.stringify({ ...signed, [field]: value }), context));
        return (
          code === ProtocolErrorCode.schema ||
          code === ProtocolErrorCode.signatureBad ||
          code === ProtocolErrorCode.keyUnknown
        );
      },
    ),
    { numRuns: 500 },
  );
});

test('property: any single-byte mutation of the canonical envelope is rejected', () => {
  const signed = signEnvelope(goldenUnsigned, deviceKey);
  const bytes = Buffer.from(canonicalJson(signed));
  fc.assert(
    fc.property(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, delta) => {
      const mutated = Buffer.from(bytes);
      mutated[index] = (mutated[index]! + delta) % 256;
      return codeOf(() => verifyEvent(mutated, context)) !== 'accepted';
    }),
    { numRuns: 1000 },
  );
});
