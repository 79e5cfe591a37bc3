import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** sha256 of a file, or undefined when it does not exist. */
export async function sha256OfFile(path: string): Promise<string | undefined> {
  try {
    return sha256Hex(await readFile(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
