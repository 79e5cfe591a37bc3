// Password hashes of admin users and device broker logins: scrypt (node:crypto) in PHC string format,
// `$scrypt$ln=15,r=8,p=1$SALT$HASH` with unpadded base64. Provisioning writes device hashes in this format;
// the cost parameters travel in the string, so stronger settings later keep old hashes valid.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { HubErrorCode, hubError } from './errors.ts';

export interface ScryptCost {
  /** log2 of N. */
  ln: number;
  r: number;
  p: number;
}

const defaultScryptCost: ScryptCost = { ln: 15, r: 8, p: 1 };

const phc =
  /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{43,88})$/;

interface ParsedHash {
  ln: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function derive(password: string, salt: Buffer, length: number, cost: ScryptCost) {
  const options: ScryptOptions = {
    N: 2 ** cost.ln,
    r: cost.r,
    p: cost.p,
    maxmem: 256 * 2 ** cost.ln * cost.r + 1024 * 1024,
  };
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

function b64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Throws TP_HUB_PASSWORD_HASH_INVALID unless `text` is a scrypt PHC string with sane parameters. */
export function parsePasswordHash(text: string): ParsedHash {
  const match = phc.exec(text);
  const ln = Number(match?.[1]);
  const r = Number(match?.[2]);
  const p = Number(match?.[3]);
  if (!match || ln < 14 || ln > 20 || r < 8 || r > 32 || p < 1 || p > 16) {
    throw hubError(
      HubErrorCode.passwordHashInvalid,
      'expected a scrypt hash "$scrypt$ln=15,r=8,p=1$SALT$HASH" (unpadded base64, ln 14-20, r 8-32, p 1-16)',
    );
  }
  return { ln, r, p, salt: Buffer.from(match[4]!, 'base64'), hash: Buffer.from(match[5]!, 'base64') };
}

export async function hashPassword(password: string, cost: ScryptCost = defaultScryptCost): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, 32, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}

/** Constant-time check of a password against its stored hash; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  let parsed: ParsedHash;
  try {
    parsed = parsePasswordHash(stored);
  } catch {
    return false;
  }
  const candidate = await derive(password, parsed.salt, parsed.hash.byteLength, parsed);
  return timingSafeEqual(candidate, parsed.hash);
}
