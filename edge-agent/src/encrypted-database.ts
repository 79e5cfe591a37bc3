// Opening one of the agent's encrypted SQLite files (the vector cache, the outbox): sqlite3mc
// ChaCha20-Poly1305 under a key derived from the provisioned storage key for that file alone, checked by
// reading the schema and every page before anything is written, so that a wrong key or a damaged file fails
// with a coded error and is left as it was.
import { hkdfSync } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { TpError } from '@truepresence/protocol';
import Database from 'better-sqlite3-multiple-ciphers';

export interface EncryptedDatabaseCodes {
  keyInvalid: string;
  missing: string;
  unreadable: string;
  keyWrong: string;
  corrupt: string;
}

export interface EncryptedDatabaseOptions {
  path: string;
  /** The provisioned 32-byte storage key. */
  storageKey: Buffer;
  /** HKDF info naming the file's purpose: each file gets its own key. */
  purpose: string;
  /** Create the file when it does not exist. */
  create: boolean;
  /** What the file is, in messages: "vector cache", "outbox file". */
  what: string;
  /** What to do about a missing file, appended to its message. */
  missingAdvice: string;
  /** Decrypted pages kept in memory, set before the page check so what fits stays there. */
  pageCacheMiB: number;
  codes: EncryptedDatabaseCodes;
}

function fileError(code: string, message: string, details: Record<string, unknown>, cause?: unknown) {
  return new TpError(code, message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** The file's own raw key, derived from the storage key so that key is never used raw by two databases. */
export function fileKeyHex(storageKey: Buffer, purpose: string): string {
  return Buffer.from(hkdfSync('sha256', storageKey, Buffer.alloc(0), purpose, 32)).toString('hex');
}

/** Opens and checks the file; `tables` is 0 for a new (or empty) database. The caller owns `db`. */
export function openEncryptedDatabase(options: EncryptedDatabaseOptions): {
  db: Database.Database;
  tables: number;
} {
  const { path, storageKey, create, what, codes } = options;
  if (storageKey.byteLength !== 32) {
    throw fileError(codes.keyInvalid, `the storage key is ${storageKey.byteLength} bytes; it must be 32`, {
      bytes: storageKey.byteLength,
    });
  }
  const exists = existsSync(path);
  if (!exists && !create) {
    throw fileError(codes.missing, `${what} ${path} does not exist; ${options.missingAdvice}`, { path });
  }
  const bytes = exists ? statSync(path).size : 0;
  if (exists && bytes === 0 && !create) {
    throw fileError(codes.corrupt, `${what} ${path} is an empty file`, { path });
  }
  if (bytes % 512 !== 0) {
    throw fileError(
      codes.corrupt,
      `${what} ${path} is truncated (${bytes} bytes is not a whole number of pages); the file was left as it is`,
      { path, bytes },
    );
  }
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: !create });
  } catch (cause) {
    throw fileError(codes.unreadable, `cannot open ${what} ${path}`, { path }, cause);
  }
  try {
    db.pragma("cipher = 'chacha20'");
    db.pragma(`key = 'raw:${fileKeyHex(storageKey, options.purpose)}'`);
    const tables = readSchema(db, options);
    db.pragma(`cache_size = -${options.pageCacheMiB * 1024}`);
    checkPages(db, options);
    return { db, tables };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Reads the schema: with a wrong key this is where it fails, before anything is written. */
function readSchema(db: Database.Database, { path, what, codes }: EncryptedDatabaseOptions): number {
  try {
    return db.prepare<[], { n: number }>('SELECT count(*) AS n FROM sqlite_schema').get()!.n;
  } catch (cause) {
    if ((cause as { code?: string }).code === 'SQLITE_NOTADB') {
      throw fileError(
        codes.keyWrong,
        `${what} ${path} does not open with this storage key (wrong key, or its first page is damaged); the file was left as it is`,
        { path },
        cause,
      );
    }
    throw fileError(codes.corrupt, `${what} ${path} cannot be read`, { path }, cause);
  }
}

/** Reads every page: a damaged page fails its authentication tag or the b-tree checks. */
function checkPages(db: Database.Database, { path, what, codes }: EncryptedDatabaseOptions): void {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check') as Array<{ quick_check: string }>).map((row) => row.quick_check);
  } catch (cause) {
    throw fileError(codes.corrupt, `${what} ${path} is damaged; the file was left as it is`, { path }, cause);
  }
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw fileError(
      codes.corrupt,
      `${what} ${path} is damaged (${problems[0] ?? 'no answer'}); the file was left as it is`,
      { path, problems: problems.slice(0, 5) },
    );
  }
}
