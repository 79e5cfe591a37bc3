// Making secrets and writing them where only their owner can read them.
import { randomBytes, scrypt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ProvisionErrorCode, provisionError } from './errors.ts';

/** A new 32-byte key as unpadded base64url, the text form every TruePresence key file uses. */
export function newKey32(): string {
  return randomBytes(32).toString('base64url');
}

/** 32 random bytes, base64url: 256 bits, safe in MQTT CONNECT and in a file without quoting. */
export function newBrokerPassword(): string {
  return randomBytes(32).toString('base64url');
}

/** Cost of broker password hashes: N = 2^15, the hub's default, about 0.1 s and 32 MiB per login check. */
export const brokerHashCost = { ln: 15, r: 8, p: 1 } as const;

/** scrypt in the PHC form the hub verifies: `$scrypt$ln=15,r=8,p=1$SALT$HASH`, unpadded standard base64. */
export async function hashBrokerPassword(password: string, cost = brokerHashCost): Promise<string> {
  const salt = randomBytes(16);
  const hash = await new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      32,
      { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: 256 * 2 ** cost.ln * cost.r + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}

function failed(path: string, cause: unknown): never {
  throw provisionError(
    ProvisionErrorCode.writeFailed,
    `cannot write ${path}: ${(cause as Error).message}`,
    { path },
    cause,
  );
}

/** Creates a new folder only its owner may enter (0700); missing parents are made 0700 too. */
export function makePrivateDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    chmodSync(path, 0o700);
  } catch (cause) {
    failed(path, cause);
  }
}

/** Makes sure a parent folder exists; one that exists keeps its mode, a missing one is made 0700. */
export function ensureDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (cause) {
    failed(path, cause);
  }
}

/** Writes a new file with mode 0600; an existing file is never overwritten. */
export function writePrivateFile(path: string, content: string): void {
  try {
    writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
    // The umask may have taken bits away, never added any; set the mode exactly.
    chmodSync(path, 0o600);
  } catch (cause) {
    failed(path, cause);
  }
}

/** Moves a finished folder or file to its final name, refusing to replace anything there. */
export function moveIntoPlace(from: string, to: string): void {
  if (existsSync(to)) failed(to, new Error('it exists already'));
  try {
    renameSync(from, to);
  } catch (cause) {
    failed(to, cause);
  }
}

/** Replaces a file in one step (write beside it, then rename), mode 0600. */
export function replacePrivateFile(path: string, content: string): void {
  const temporary = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  writePrivateFile(temporary, content);
  try {
    renameSync(temporary, path);
  } catch (cause) {
    failed(path, cause);
  }
}
