import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { ProtocolErrorCode, protocolError } from './errors.ts';
import { TpError } from './tp-error.ts';

const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
const spkiEd25519Prefix = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  return generateKeyPairSync('ed25519');
}

/** A private key from its 32-byte seed (RFC 8032), as used by golden test vectors. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.byteLength !== 32)
    throw protocolError(ProtocolErrorCode.keyInvalid, 'an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: 'der', type: 'pkcs8' });
}

/** Public keys travel and are stored as the 32 raw bytes in base64url. */
export function publicKeyToBase64(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey
    .export({ format: 'der', type: 'spki' })
    .subarray(spkiEd25519Prefix.length)
    .toString('base64url');
}

export function publicKeyFromBase64(text: string): KeyObject {
  const raw = Buffer.from(text, 'base64url');
  if (raw.byteLength !== 32 || raw.toString('base64url') !== text) {
    throw protocolError(ProtocolErrorCode.keyInvalid, 'an Ed25519 public key is 32 bytes in base64url');
  }
  return createPublicKey({ key: Buffer.concat([spkiEd25519Prefix, raw]), format: 'der', type: 'spki' });
}

export function privateKeyToPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function privateKeyFromPem(pem: string | Buffer): KeyObject {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type ${key.asymmetricKeyType}`);
    return key;
  } catch (cause) {
    throw protocolError(ProtocolErrorCode.keyInvalid, 'not an Ed25519 private key in PKCS#8 PEM', {}, cause);
  }
}

export function signBytes(data: Uint8Array, privateKey: KeyObject): string {
  return sign(null, data, privateKey).toString('base64url');
}

/** Only the canonical base64url text of a signature verifies, so one signature has exactly one spelling. */
export function verifyBytes(data: Uint8Array, signature: string, publicKey: KeyObject): boolean {
  const raw = Buffer.from(signature, 'base64url');
  return (
    raw.byteLength === 64 && raw.toString('base64url') === signature && verify(null, data, publicKey, raw)
  );
}

/** A 32-byte secret key written as base64url (or base64), 64 hex digits, or raw bytes; else a `code` error. */
export function parseKey32(bytes: Buffer, what: string, code: string): Buffer {
  const text = bytes.toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9_=+/-]{43,44}$/.test(text)) {
    const key = Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
    if (key.byteLength === 32) return key;
  }
  if (bytes.byteLength === 32) return Buffer.from(bytes);
  throw new TpError(code, `${what} must be 32 bytes, written as base64url or 64 hex digits`, {
    details: { what },
  });
}
