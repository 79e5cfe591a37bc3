import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ProtocolErrorCode } from './errors.ts';
import { generateEd25519KeyPair } from './keys.ts';
import {
  decodeVector,
  EMBEDDING_DIMENSIONS,
  encodeVector,
  openRosterChange,
  type RosterChange,
  type RosterOpenKeys,
  type SealedRosterChange,
  sealRosterChange,
} from './roster.ts';
import { isTpError } from './tp-error.ts';

const hub = generateEd25519KeyPair();
const siteKey = { id: 'hq-2026', key: randomBytes(32) };
const hubKey = { id: 'hub-1', privateKey: hub.privateKey };
const vector = Float32Array.from({ length: EMBEDDING_DIMENSIONS }, (_, i) => Math.sin(i) / 16);
const change: RosterChange = {
  v: 1,
  site: 'hq',
  seq: 7,
  kind: 'enrol',
  personId: 'p-0042',
  templates: [{ id: 't-1', modelPack: 'default-1.0.0', vector: encodeVector(vector) }],
  issuedAt: '2026-11-22T08:00:00Z',
};
const keys: RosterOpenKeys = {
  site: 'hq',
  siteKeys: (id) => (id === siteKey.id ? siteKey.key : undefined),
  hubPublicKeys: (id) => (id === hubKey.id ? hub.publicKey : undefined),
};
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (isTpError(e)) return e.code;
    throw e;
  }
  return 'accepted';
};

test('a sealed change opens to the same change and its vector survives exactly', () => {
  const sealed = sealRosterChange(change, siteKey, hubKey);
  const wire = JSON.stringify(sealed);
  assert.ok(!wire.includes(change.personId), 'the person id is not visible to the broker');
  assert.ok(
    !wire.includes(change.templates[0]!.vector.slice(0, 40)),
    'the template is not visible to the broker',
  );
  const opened = openRosterChange(Buffer.from(wire), keys);
  assert.deepEqual(opened, change);
  assert.deepEqual(decodeVector(opened.templates[0]!.vector), vector);
  // Two seals of the same change use different nonces.
  assert.notEqual(sealRosterChange(change, siteKey, hubKey).nonce, sealed.nonce);
});

test('tampered, re-signed, misdirected and undecryptable changes fail closed with their codes', () => {
  const sealed = sealRosterChange(change, siteKey, hubKey);
  const flip = (text: string) => `${text.slice(0, 10)}${text[10] === 'A' ? 'B' : 'A'}${text.slice(11)}`;
  const tamper = (patch: Partial<SealedRosterChange>) => ({ ...sealed, ...patch });

  assert.equal(
    codeOf(() => openRosterChange(tamper({ ciphertext: flip(sealed.ciphertext) }), keys)),
    ProtocolErrorCode.rosterSignatureBad,
  );
  assert.equal(
    codeOf(() => openRosterChange(tamper({ seq: 8 }), keys)),
    ProtocolErrorCode.rosterSignatureBad,
  );
  assert.equal(
    codeOf(() => openRosterChange(tamper({ sig: flip(sealed.sig) }), keys)),
    ProtocolErrorCode.rosterSignatureBad,
  );
  const attacker = generateEd25519KeyPair();
  const forged = sealRosterChange(change, siteKey, { id: 'hub-1', privateKey: attacker.privateKey });
  assert.equal(
    codeOf(() => openRosterChange(forged, keys)),
    ProtocolErrorCode.rosterSignatureBad,
  );
  assert.equal(
    codeOf(() => openRosterChange(sealRosterChange(change, siteKey, { ...hubKey, id: 'hub-9' }), keys)),
    ProtocolErrorCode.rosterKeyUnknown,
  );
  assert.equal(
    codeOf(() => openRosterChange(sealRosterChange(change, { ...siteKey, id: 'other' }, hubKey), keys)),
    ProtocolErrorCode.rosterKeyUnknown,
  );
  assert.equal(
    codeOf(() => openRosterChange(sealed, { ...keys, site: 'branch' })),
    ProtocolErrorCode.rosterSiteMismatch,
  );
  // Right key id, wrong key bytes (a rotated key, a mix-up): the hub signature verifies, decryption does not.
  const wrongBytes = sealRosterChange(change, { id: siteKey.id, key: randomBytes(32) }, hubKey);
  assert.equal(
    codeOf(() => openRosterChange(wrongBytes, keys)),
    ProtocolErrorCode.rosterDecryptFailed,
  );
  assert.equal(
    codeOf(() => openRosterChange('{"v":1}', keys)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => openRosterChange('not json', keys)),
    ProtocolErrorCode.payloadNotJson,
  );
});

test('roster change rules: erase carries no templates, enrol needs one, vectors have 512 floats', () => {
  assert.equal(
    codeOf(() => sealRosterChange({ ...change, kind: 'erase' }, siteKey, hubKey)),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => sealRosterChange({ ...change, templates: [] }, siteKey, hubKey)),
    ProtocolErrorCode.schema,
  );
  const erase = { ...change, kind: 'erase' as const, templates: [] };
  assert.deepEqual(openRosterChange(sealRosterChange(erase, siteKey, hubKey), keys), erase);
  assert.equal(
    codeOf(() => decodeVector(encodeVector(new Float32Array(128)))),
    ProtocolErrorCode.schema,
  );
  assert.equal(
    codeOf(() => sealRosterChange(change, { id: 'short', key: randomBytes(16) }, hubKey)),
    ProtocolErrorCode.keyInvalid,
  );
});
