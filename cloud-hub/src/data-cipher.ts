// Encryption at rest of what the hub must never keep in clear: templates, photos and site roster keys.
// AES-256-GCM with a random 96-bit nonce; the context (what the bytes are and whose they are) is bound as
// associated data, so a ciphertext copied onto another person's row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { HubErrorCode, hubError } from './errors.ts';

const formatVersion = 1;
const nonceBytes = 12;
const tagBytes = 16;

export class DataCipher {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  /** version (1 byte) | nonce (12) | ciphertext | tag (16). */
  encrypt(plain: Uint8Array, context: string): Buffer {
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(formatVersion), nonce, body, cipher.getAuthTag()]);
  }

  decrypt(sealed: Uint8Array, context: string): Buffer {
    const box = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    try {
      if (box.byteLength < 1 + nonceBytes + tagBytes || box[0] !== formatVersion) {
        throw new Error('not a sealed value of this hub');
      }
      const decipher = createDecipheriv('aes-256-gcm', this.#key, box.subarray(1, 1 + nonceBytes));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(box.subarray(box.byteLength - tagBytes));
      return Buffer.concat([
        decipher.update(box.subarray(1 + nonceBytes, box.byteLength - tagBytes)),
        decipher.final(),
      ]);
    } catch (cause) {
      throw hubError(
        HubErrorCode.dataDecryptFailed,
        `stored ${context.split(':')[0]} does not decrypt: the data key differs from the one that wrote it`,
        { context: context.split(':')[0] },
        cause,
      );
    }
  }
}
