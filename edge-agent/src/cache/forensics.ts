import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';
import { fileKeyHex } from '../encrypted-database.ts';
import { signCode } from './hamming-index.ts';
import { CACHE_KEY_PURPOSE, normalisedVectorBytes } from './vector-cache.ts';

/**
 * For tests that prove erasure: the cache file's pages in clear, byte for byte (free space, freed pages and
 * leftovers of deleted cells included). A COPY of the file is decrypted in place with sqlite3mc's
 * `PRAGMA rekey = ''`, which rewrites every page unchanged but unencrypted; `VACUUM INTO` would rebuild
 * the database and hide exactly the leftovers this looks for. The WAL must be empty (checkpointed): its
 * frames would otherwise hold older page images that this copy cannot show.
 */
export function decryptedCacheImage(path: string, key: Buffer): Buffer {
  const wal = `${path}-wal`;
  if (existsSync(wal) && statSync(wal).size > 0) {
    throw new Error(`${wal} is not empty: checkpoint the cache (or close it) before inspecting ${path}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tp-cache-image-'));
  try {
    const copy = join(dir, 'cache.db');
    copyFileSync(path, copy);
    const db = new Database(copy, { fileMustExist: true });
    try {
      db.pragma("cipher = 'chacha20'");
      db.pragma(`key = 'raw:${fileKeyHex(key, CACHE_KEY_PURPOSE)}'`);
      db.pragma('journal_mode = DELETE');
      db.pragma("rekey = ''");
    } finally {
      db.close();
    }
    return readFileSync(copy);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const floatPiece = 16;
const codePiece = 8;

/**
 * How many pieces of a template are found in a file image: 16-byte pieces of the float32 vector as the
 * cache stores it (L2-normalised) and 8-byte pieces of its 512-bit sign code. 0 means no trace; a stored
 * template shows all 128 + 8.
 */
export function templateTraces(image: Buffer, vector: Float32Array): number {
  const stored = normalisedVectorBytes(vector);
  if (typeof stored === 'string') throw new Error(`the vector ${stored}`);
  const code = Buffer.from(signCode(vector));
  let found = 0;
  for (let at = 0; at < stored.length; at += floatPiece) {
    if (image.includes(stored.subarray(at, at + floatPiece))) found++;
  }
  for (let at = 0; at < code.length; at += codePiece) {
    if (image.includes(code.subarray(at, at + codePiece))) found++;
  }
  return found;
}
