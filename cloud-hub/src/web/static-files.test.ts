import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { loadStaticFiles } from './static-files.ts';

describe('static files of the web page', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-static-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is nothing until index.html is built', () => {
    assert.equal(loadStaticFiles(join(dir, 'missing')), undefined);
    assert.equal(loadStaticFiles(dir), undefined);
  });

  it('serves hashed assets as immutable, index.html revalidated, text gzipped when smaller', () => {
    mkdirSync(join(dir, 'assets'));
    const script = `export const page = ${JSON.stringify('x'.repeat(4000))};\n`;
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'assets', 'index-AbC123.js'), script);
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const files = loadStaticFiles(dir)!;
    assert.deepEqual([...files.keys()].sort(), ['/assets/index-AbC123.js', '/favicon.svg', '/index.html']);
    const js = files.get('/assets/index-AbC123.js')!;
    assert.equal(js.type, 'text/javascript; charset=utf-8');
    assert.equal(js.cacheControl, 'public, max-age=31536000, immutable');
    assert.equal(gunzipSync(js.gzip!).toString(), script);
    assert.ok(js.gzip!.length < js.body.length / 10);
    const html = files.get('/index.html')!;
    assert.equal(html.cacheControl, 'no-cache');
    assert.equal(html.gzip, undefined, 'too small to gain from gzip');
    assert.equal(files.get('/favicon.svg')!.type, 'image/svg+xml');
    assert.match(html.etag, /^"[A-Za-z0-9_-]{27}"$/);
    assert.notEqual(html.etag, js.etag);
  });
});
