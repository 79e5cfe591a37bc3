import { createHash, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { canonicalBytes } from './canonical-json.ts';
import { ProtocolErrorCode, protocolError } from './errors.ts';
import { signBytes, verifyBytes } from './keys.ts';
import { parseJsonPayload, validatePayload } from './payload.ts';
import { idSchema } from './topics.ts';
import { uuidv7Schema } from './uuidv7.ts';

export const PROTOCOL_VERSION = 1;
export const MAX_EVENT_BYTES = 16 * 1024;
/** `prev` of a device's first envelope. */
export const GENESIS_HASH = '0'.repeat(64);

const hashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits (SHA-256)');
const unit = z.number().min(0).max(1);

const envelopeFields = {
  v: z.literal(PROTOCOL_VERSION).describe('Protocol version.'),
  id: uuidv7Schema.describe('Event id (UUIDv7); the hub stores each id once.'),
  site: idSchema,
  device: idSchema,
  camera: idSchema,
  kind: z.enum(['attendance', 'unknown', 'spoof']).describe('The decision for one track.'),
  personId: z
    .string()
    .min(1)
    .max(64)
    .nullable()
    .describe(
      'Recognised person for attendance; for spoof the identity the attack resembled; null for unknown.',
    ),
  direction: z
    .enum(['in', 'out'])
    .nullable()
    .describe('Direction of travel across the camera line, if configured.'),
  capturedAt: z.iso
    .datetime({ offset: false, precision: 3 })
    .describe('When the face first passed the quality gate (UTC, ms).'),
  similarity: z.number().min(-1).max(1).nullable().describe('Fused cosine similarity to the best identity.'),
  margin: z.number().min(-2).max(2).nullable().describe('Best minus second-best identity similarity.'),
  liveness: unit.nullable().describe('Track-level liveness score, 1 = live.'),
  quality: unit.nullable().describe('Quality of the best shot, 0..1.'),
  rosterSeq: z.number().int().min(0).describe('Site roster sequence number the decision was made with.'),
  modelPack: z.string().min(1).max(80).describe('Model pack version used.'),
  seq: z
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .describe('Per-device sequence number, from 1, no gaps.'),
  prev: hashSchema.describe('SHA-256 of the previous canonical envelope of this device (zeros for seq 1).'),
};

function kindRules(e: { kind: string; personId: string | null }, ctx: z.RefinementCtx): void {
  if (e.kind === 'attendance' && e.personId === null) {
    ctx.addIssue({ code: 'custom', path: ['personId'], message: 'attendance needs a personId' });
  }
  if (e.kind === 'unknown' && e.personId !== null) {
    ctx.addIssue({ code: 'custom', path: ['personId'], message: 'unknown never carries a personId' });
  }
}

export const unsignedEnvelopeSchema = z.strictObject(envelopeFields).superRefine(kindRules);
export const eventEnvelopeSchema = z
  .strictObject({
    ...envelopeFields,
    sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected a base64url Ed25519 signature'),
  })
  .superRefine(kindRules);

export type UnsignedEnvelope = z.infer<typeof unsignedEnvelopeSchema>;
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** Hash that the next envelope's `prev` must carry: SHA-256 over the canonical signed envelope. */
export function envelopeHash(envelope: EventEnvelope): string {
  return createHash('sha256').update(canonicalBytes(envelope)).digest('hex');
}

/** Signs the canonical form of every field but `sig` with the device's Ed25519 key. */
export function signEnvelope(unsigned: UnsignedEnvelope, privateKey: KeyObject): EventEnvelope {
  const checked = validatePayload(unsignedEnvelopeSchema, unsigned, 'envelope');
  return { ...checked, sig: signBytes(canonicalBytes(checked), privateKey) };
}

export interface DeviceKeyInfo {
  publicKey: KeyObject;
  revoked: boolean;
}

export interface VerifyEventContext {
  /** Site and device of the topic the envelope arrived on; they must match the envelope. */
  topic?: { site: string; device: string };
  /** The registered key of a device, or undefined when the device is unknown. */
  lookupKey(site: string, device: string): DeviceKeyInfo | undefined;
}

export interface VerifiedEvent {
  envelope: EventEnvelope;
  hash: string;
}

/**
 * Checks one event as it arrives: size, UTF-8, JSON, schema, device known and not revoked, topic match,
 * signature. Throws a TpError whose code says which check failed. Chain checks follow with {@link checkChain}.
 */
export function verifyEvent(
  payload: Uint8Array | string | EventEnvelope,
  context: VerifyEventContext,
): VerifiedEvent {
  const value =
    typeof payload === 'object' && !(payload instanceof Uint8Array)
      ? payload
      : parseJsonPayload(payload, MAX_EVENT_BYTES);
  const envelope = validatePayload(eventEnvelopeSchema, value, 'event envelope');
  if (context.topic && (context.topic.site !== envelope.site || context.topic.device !== envelope.device)) {
    throw protocolError(
      ProtocolErrorCode.deviceMismatch,
      `envelope of ${envelope.site}/${envelope.device} arrived on the topic of ${context.topic.site}/${context.topic.device}`,
      { site: envelope.site, device: envelope.device },
    );
  }
  const key = context.lookupKey(envelope.site, envelope.device);
  if (!key) {
    throw protocolError(
      ProtocolErrorCode.keyUnknown,
      `device ${envelope.site}/${envelope.device} is not registered`,
      {
        site: envelope.site,
        device: envelope.device,
      },
    );
  }
  if (key.revoked) {
    throw protocolError(
      ProtocolErrorCode.keyRevoked,
      `device ${envelope.site}/${envelope.device} is revoked`,
      {
        site: envelope.site,
        device: envelope.device,
      },
    );
  }
  const { sig, ...unsigned } = envelope;
  if (!verifyBytes(canonicalBytes(unsigned), sig, key.publicKey)) {
    throw protocolError(ProtocolErrorCode.signatureBad, `signature of event ${envelope.id} does not verify`, {
      id: envelope.id,
      device: envelope.device,
    });
  }
  return { envelope, hash: envelopeHash(envelope) };
}

/** What the receiver knows about one device's chain: the stored envelope nearest below and above `seq`. */
export interface ChainNeighbours {
  /** An already stored event with the same id (a redelivery). */
  sameId?: { seq: number; hash: string } | undefined;
  /** The stored event with the same seq, if any. */
  sameSeq?: { id: string } | undefined;
  /** The stored event with seq - 1, if any. */
  previous?: { hash: string } | undefined;
  /** The stored event with seq + 1, if any. */
  next?: { prev: string } | undefined;
  /** Highest seq stored for this device (0 when none). */
  highestSeq: number;
}

export type ChainVerdict =
  | { status: 'linked' }
  /** Same id already stored: store nothing, ack again. */
  | { status: 'duplicate' }
  /** Store and raise an alert: earlier envelopes are missing (they may still arrive). */
  | { status: 'gap'; code: typeof ProtocolErrorCode.sequenceGap; missingFrom: number; missingTo: number }
  /** Store and raise an alert: `prev` disagrees with a stored neighbour (altered, dropped or forked history). */
  | { status: 'broken'; code: typeof ProtocolErrorCode.chainBroken; side: 'previous' | 'next' }
  /** Refuse: another envelope already holds this seq, or an envelope was re-sent with a new id. */
  | { status: 'replay'; code: typeof ProtocolErrorCode.replay };

/**
 * Places a verified envelope in its device's hash chain, given what the receiver has stored around it.
 * Works for out-of-order arrival (several hub replicas): a late envelope fills a gap and is linked both ways.
 */
export function checkChain(event: VerifiedEvent, around: ChainNeighbours): ChainVerdict {
  const { envelope, hash } = event;
  if (around.sameId) {
    return around.sameId.hash === hash
      ? { status: 'duplicate' }
      : { status: 'replay', code: ProtocolErrorCode.replay };
  }
  if (around.sameSeq) return { status: 'replay', code: ProtocolErrorCode.replay };
  if (
    envelope.seq === 1
      ? envelope.prev !== GENESIS_HASH
      : around.previous && around.previous.hash !== envelope.prev
  ) {
    return { status: 'broken', code: ProtocolErrorCode.chainBroken, side: 'previous' };
  }
  if (around.next && around.next.prev !== hash) {
    return { status: 'broken', code: ProtocolErrorCode.chainBroken, side: 'next' };
  }
  if (envelope.seq > 1 && !around.previous) {
    const missingFrom = around.highestSeq < envelope.seq ? around.highestSeq + 1 : envelope.seq - 1;
    return { status: 'gap', code: ProtocolErrorCode.sequenceGap, missingFrom, missingTo: envelope.seq - 1 };
  }
  return { status: 'linked' };
}

/** The chain state a device keeps to sign its next envelope. */
export interface ChainHead {
  seq: number;
  hash: string;
}

export const chainStart: ChainHead = { seq: 0, hash: GENESIS_HASH };

/** Builds and signs the device's next envelope, returning it and the new head. */
export function nextEnvelope(
  head: ChainHead,
  fields: Omit<UnsignedEnvelope, 'seq' | 'prev' | 'v'>,
  privateKey: KeyObject,
): { envelope: EventEnvelope; head: ChainHead } {
  const envelope = signEnvelope(
    { v: PROTOCOL_VERSION, ...fields, seq: head.seq + 1, prev: head.hash },
    privateKey,
  );
  return { envelope, head: { seq: envelope.seq, hash: envelopeHash(envelope) } };
}
