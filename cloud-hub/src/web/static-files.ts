// The built web page (cloud-hub/web/dist, a few small files) held in memory with its gzip form and ETag.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface StaticFile {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  cacheControl: string;
}

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const compressible = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : entry.isFile() ? [path] : [];
  });
}

/** URL path ("/assets/index-1a2b.js") to file, or undefined when `dir` holds no built page. */
export function loadStaticFiles(dir: string): Map<string, StaticFile> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const files = new Map<string, StaticFile>();
  for (const path of walk(dir)) {
    const url = `/${relative(dir, path).split(sep).join('/')}`;
    const extension = extname(path);
    const body = readFileSync(path);
    const gzip = compressible.has(extension) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
    files.set(url, {
      body,
      gzip: gzip && gzip.length < body.length ? gzip : undefined,
      type: types[extension] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      // Vite puts a content hash in every name under assets/; index.html must be checked each time.
      cacheControl: url.startsWith('/assets/')
        ? 'public, max-age=31536000, immutable'
        : extension === '.html'
          ? 'no-cache'
          : 'public, max-age=3600',
    });
  }
  return files;
}
