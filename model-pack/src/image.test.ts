import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { crc32, deflateSync } from 'node:zlib';
import { isTpError } from '@truepresence/protocol';
import sharp from 'sharp';
import { decodeImage, rgbFrame } from './image.ts';

const photo = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  '@vladmandic',
  'face-api',
  'demo',
  'sample1.jpg',
);

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A PNG of a few hundred bytes whose header claims side x side pixels: a decompression bomb. */
function bombPng(side: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(side, 0);
  header.writeUInt32BE(side, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const coded = (code: string) => (error: unknown) => isTpError(error, code);

describe('decodeImage', () => {
  let jpeg: Buffer;
  before(async () => {
    jpeg = await readFile(photo);
  });

  it('decodes JPEG, PNG and WebP into RGB', async () => {
    const image = await decodeImage(jpeg);
    assert.equal(image.width, 1920);
    assert.equal(image.height, 1280);
    assert.equal(image.data.length, 1920 * 1280 * 3);
    const small = sharp(jpeg).resize(64, 48);
    for (const encoded of [await small.clone().png().toBuffer(), await small.clone().webp().toBuffer()]) {
      const decoded = await decodeImage(encoded);
      assert.deepEqual([decoded.width, decoded.height, decoded.data.length], [64, 48, 64 * 48 * 3]);
    }
    const rgba = await sharp({ create: { width: 4, height: 2, channels: 4, background: '#ff000080' } })
      .png()
      .toBuffer();
    assert.equal((await decodeImage(rgba)).data.length, 4 * 2 * 3);
  });

  it('applies the EXIF orientation', async () => {
    const rotated = await sharp(jpeg).resize(60, 40).withMetadata({ orientation: 6 }).jpeg().toBuffer();
    const image = await decodeImage(rotated);
    assert.deepEqual([image.width, image.height], [40, 60]);
  });

  it('rejects empty, truncated, corrupt, unsupported and oversized input with coded errors', async () => {
    await assert.rejects(decodeImage(new Uint8Array(0)), coded('TP_MODEL_IMAGE_EMPTY'));
    await assert.rejects(decodeImage(jpeg.subarray(0, jpeg.length / 2)), coded('TP_MODEL_IMAGE_TRUNCATED'));
    const png = await sharp(jpeg).resize(200).png().toBuffer();
    await assert.rejects(decodeImage(png.subarray(0, png.length / 2)), coded('TP_MODEL_IMAGE_TRUNCATED'));
    await assert.rejects(
      decodeImage(Buffer.from('definitely not an image')),
      coded('TP_MODEL_IMAGE_CORRUPT'),
    );
    const gif = await sharp(jpeg).resize(20).gif().toBuffer();
    await assert.rejects(decodeImage(gif), coded('TP_MODEL_IMAGE_UNSUPPORTED'));
    await assert.rejects(decodeImage(bombPng(10_000)), coded('TP_MODEL_IMAGE_TOO_LARGE'));
    await assert.rejects(decodeImage(bombPng(100_000)), coded('TP_MODEL_IMAGE_TOO_LARGE'));
    await assert.rejects(decodeImage(jpeg, { maxBytes: 1000 }), coded('TP_MODEL_IMAGE_TOO_LARGE'));
    await assert.rejects(
      decodeImage(jpeg, { maxPixels: 1920 * 1280 - 1 }),
      coded('TP_MODEL_IMAGE_TOO_LARGE'),
    );
  });
});

describe('rgbFrame', () => {
  it('accepts a frame of the right size and refuses any other', () => {
    const frame = rgbFrame(new Uint8Array(4 * 2 * 3), 4, 2);
    assert.deepEqual([frame.width, frame.height], [4, 2]);
    assert.throws(() => rgbFrame(new Uint8Array(23), 4, 2), coded('TP_MODEL_FRAME_INVALID'));
    assert.throws(() => rgbFrame(new Uint8Array(0), 0, 0), coded('TP_MODEL_FRAME_INVALID'));
  });
});
