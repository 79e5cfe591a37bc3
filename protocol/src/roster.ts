import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalBytes } from './canonical-json.ts';
import { PROTOCOL_VERSION } from './envelope.ts';
import { ProtocolErrorCode, protocolError } from './errors.ts';
import { signBytes, verifyBytes } from './keys.ts';
import { parseJsonPayload, validatePayload } from './payload.ts';
import { idSchema } from './topics.ts';

export const EMBEDDING_DIMENSIONS = 512;
export const MAX_ROSTER_BYTES = 256 * 1024;
export const MAX_TEMPLATES_PER_PERSON = 20;

const b64url = z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url');
const keyIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a key id of 1-64 [A-Za-z0-9_.-]');

export const rosterTemplateSchema = z.strictObject({
  id: z.string().min(1).max(64).describe('Template id, unique within the site.'),
  modelPack: z.string().min(1).max(80).describe('Model pack version that produced the vector.'),
  vector: b64url.describe('L2-normalised float32 little-endian vector, base64url.'),
});

/** One roster change as the hub writes it, before sealing. Erasure is a change like any other. */
export const rosterChangeSchema = z
  .strictObject({
    v: z.literal(PROTOCOL_VERSION),
    site: idSchema,
    seq: z.number().int().min(1).describe("The site's monotonic roster sequence number."),
    kind: z.enum(['enrol', 'update', 'erase']),
    personId: z.string().min(1).max(64),
    templates: z
      .array(rosterTemplateSchema)
      .max(MAX_TEMPLATES_PER_PERSON)
      .describe('All templates of the person after the change; empty for erase.'),
    issuedAt: z.iso.datetime({ offset: false }),
  })
  .superRefine((change, ctx) => {
    if (change.kind === 'erase' && change.templates.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['templates'], message: 'an erase change carries no templates' });
    }
    if (change.kind !== 'erase' && change.templates.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['templates'],
        message: `a ${change.kind} change needs at least one template`,
      });
    }
  });
export type RosterChange = z.infer<typeof rosterChangeSchema>;

/** What travels on `tp/v1/{site}/roster` and in sync answers: signed by the hub, encrypted for the site. */
export const sealedRosterChangeSchema = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  site: idSchema,
  seq: z.number().int().min(1),
  siteKeyId: keyIdSchema.describe('Which site key encrypted the change.'),
  hubKeyId: keyIdSchema.describe('Which hub key signed it.'),
  nonce: b64url.length(16).describe('AES-256-GCM nonce (12 random bytes).'),
  ciphertext: b64url.describe('AES-256-GCM ciphertext with its 16-byte tag appended.'),
  sig: b64url.length(86).describe('Hub Ed25519 signature over the canonical form of every other field.'),
});
export type SealedRosterChange = z.infer<typeof sealedRosterChangeSchema>;

export interface SiteKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

export interface HubSigningKey {
  id: string;
  privateKey: KeyObject;
}

export function encodeVector(vector: Float32Array): string {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64url');
}

export function decodeVector(text: string): Float32Array {
  const raw = Buffer.from(text, 'base64url');
  if (raw.byteLength !== EMBEDDING_DIMENSIONS * 4) {
    throw protocolError(
      ProtocolErrorCode.schema,
      `a template vector is ${EMBEDDING_DIMENSIONS} float32 values`,
      {
        bytes: raw.byteLength,
      },
    );
  }
  const copy = new Float32Array(EMBEDDING_DIMENSIONS);
  new Uint8Array(copy.buffer).set(raw);
  return copy;
}

function header(sealed: Pick<SealedRosterChange, 'v' | 'site' | 'seq' | 'siteKeyId' | 'hubKeyId'>): Buffer {
  return canonicalBytes({
    v: sealed.v,
    site: sealed.site,
    seq: sealed.seq,
    siteKeyId: sealed.siteKeyId,
    hubKeyId: sealed.hubKeyId,
  });
}

/** Encrypts a change for its site (the header is authenticated data), then signs the result. */
export function sealRosterChange(
  change: RosterChange,
  siteKey: SiteKey,
  hubKey: HubSigningKey,
): SealedRosterChange {
  const checked = validatePayload(rosterChangeSchema, change, 'roster change');
  if (siteKey.key.byteLength !== 32)
    throw protocolError(ProtocolErrorCode.keyInvalid, 'a site key is 32 bytes');
  const nonce = randomBytes(12);
  const head = {
    v: PROTOCOL_VERSION,
    site: checked.site,
    seq: checked.seq,
    siteKeyId: siteKey.id,
    hubKeyId: hubKey.id,
  } as const;
  const cipher = createCipheriv('aes-256-gcm', siteKey.key, nonce);
  cipher.setAAD(header(head));
  const ciphertext = Buffer.concat([
    cipher.update(canonicalBytes(checked)),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  const unsigned = {
    ...head,
    nonce: nonce.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
  };
  return { ...unsigned, sig: signBytes(canonicalBytes(unsigned), hubKey.privateKey) };
}

export interface RosterOpenKeys {
  /** The site this device belongs to; changes for any other site are refused. */
  site: string;
  siteKeys(id: string): Buffer | undefined;
  hubPublicKeys(id: string): KeyObject | undefined;
}

/**
 * Verifies then decrypts a sealed change. Fails closed: any doubt throws a TpError saying why
 * (schema, wrong site, unknown key id, bad signature, decryption failure, inner mismatch).
 */
export function openRosterChange(
  payload: Uint8Array | string | SealedRosterChange,
  keys: RosterOpenKeys,
): RosterChange {
  const value =
    typeof payload === 'object' && !(payload instanceof Uint8Array)
      ? payload
      : parseJsonPayload(payload, MAX_ROSTER_BYTES);
  const sealed = validatePayload(sealedRosterChangeSchema, value, 'sealed roster change');
  if (sealed.site !== keys.site) {
    throw protocolError(
      ProtocolErrorCode.rosterSiteMismatch,
      `roster change for site ${sealed.site} reached site ${keys.site}`,
      {
        site: sealed.site,
      },
    );
  }
  const hubKey = keys.hubPublicKeys(sealed.hubKeyId);
  if (!hubKey) {
    throw protocolError(
      ProtocolErrorCode.rosterKeyUnknown,
      `hub key "${sealed.hubKeyId}" is not known to this device`,
      {
        hubKeyId: sealed.hubKeyId,
      },
    );
  }
  const { sig, ...unsigned } = sealed;
  if (!verifyBytes(canonicalBytes(unsigned), sig, hubKey)) {
    throw protocolError(
      ProtocolErrorCode.rosterSignatureBad,
      `hub signature of roster change ${sealed.seq} does not verify`,
      {
        seq: sealed.seq,
      },
    );
  }
  const siteKey = keys.siteKeys(sealed.siteKeyId);
  if (!siteKey) {
    throw protocolError(
      ProtocolErrorCode.rosterKeyUnknown,
      `site key "${sealed.siteKeyId}" is not known to this device`,
      {
        siteKeyId: sealed.siteKeyId,
      },
    );
  }
  const box = Buffer.from(sealed.ciphertext, 'base64url');
  let plain: Buffer;
  try {
    if (box.byteLength < 16) throw new Error('ciphertext shorter than its tag');
    const decipher = createDecipheriv('aes-256-gcm', siteKey, Buffer.from(sealed.nonce, 'base64url'));
    decipher.setAAD(header(sealed));
    decipher.setAuthTag(box.subarray(box.byteLength - 16));
    plain = Buffer.concat([decipher.update(box.subarray(0, box.byteLength - 16)), decipher.final()]);
  } catch (cause) {
    throw protocolError(
      ProtocolErrorCode.rosterDecryptFailed,
      `roster change ${sealed.seq} does not decrypt with site key "${sealed.siteKeyId}"`,
      { seq: sealed.seq },
      cause,
    );
  }
  const change = validatePayload(
    rosterChangeSchema,
    parseJsonPayload(plain, MAX_ROSTER_BYTES),
    'roster change',
  );
  if (change.site !== sealed.site || change.seq !== sealed.seq) {
    throw protocolError(
      ProtocolErrorCode.rosterSiteMismatch,
      'sealed header and inner roster change disagree on site or seq',
      {
        seq: sealed.seq,
      },
    );
  }
  return change;
}
