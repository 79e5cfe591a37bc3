// Turning bytes into pixels: encoded photos (JPEG/PNG/WebP through sharp) and raw RGB frames (ffmpeg
// rgb24). Every failure is a coded error; nothing is half-decoded.
import { isTpError } from '@truepresence/protocol';
import sharp, { type Metadata } from 'sharp';
import { ModelErrorCode, modelError } from './errors.ts';

/** Interleaved 8-bit RGB pixels, row-major, no padding: data.length === width * height * 3. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface DecodeOptions {
  /** Largest accepted width x height (decompression bombs are refused before decoding). */
  maxPixels?: number;
  /** Largest accepted encoded size in bytes. */
  maxBytes?: number;
}

export const defaultDecodeLimits = { maxPixels: 40_000_000, maxBytes: 50 * 1024 * 1024 } as const;

const acceptedFormats = new Set(['jpeg', 'png', 'webp']);
const truncation = /premature end|truncat|unexpected end|end of (file|stream|data)|read error|incomplete/i;

function decodeFailure(error: unknown, size: number, maxPixels: number): never {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) {
    throw modelError(
      ModelErrorCode.imageTooLarge,
      `image has more than ${maxPixels} pixels`,
      { maxPixels },
      error,
    );
  }
  if (truncation.test(message)) {
    throw modelError(ModelErrorCode.imageTruncated, `image is truncated: ${message}`, { bytes: size }, error);
  }
  throw modelError(
    ModelErrorCode.imageCorrupt,
    `image cannot be decoded: ${message}`,
    { bytes: size },
    error,
  );
}

/** Decodes a JPEG, PNG or WebP photo into RGB (EXIF orientation applied, alpha dropped, sRGB). */
export async function decodeImage(input: Uint8Array, options: DecodeOptions = {}): Promise<RgbImage> {
  const maxPixels = options.maxPixels ?? defaultDecodeLimits.maxPixels;
  const maxBytes = options.maxBytes ?? defaultDecodeLimits.maxBytes;
  if (input.length === 0) throw modelError(ModelErrorCode.imageEmpty, 'image is empty (0 bytes)');
  if (input.length > maxBytes) {
    throw modelError(
      ModelErrorCode.imageTooLarge,
      `image is ${input.length} bytes; the limit is ${maxBytes}`,
      {
        bytes: input.length,
        maxBytes,
      },
    );
  }
  let metadata: Metadata;
  try {
    metadata = await sharp(input, { limitInputPixels: maxPixels }).metadata();
  } catch (error) {
    decodeFailure(error, input.length, maxPixels);
  }
  if (!acceptedFormats.has(metadata.format)) {
    throw modelError(
      ModelErrorCode.imageUnsupported,
      `image format ${metadata.format} is not accepted; use JPEG, PNG or WebP`,
      { format: metadata.format },
    );
  }
  const pixels = metadata.width * metadata.height;
  if (pixels > maxPixels) {
    throw modelError(
      ModelErrorCode.imageTooLarge,
      `image is ${metadata.width}x${metadata.height} (${pixels} pixels); the limit is ${maxPixels} pixels`,
      { width: metadata.width, height: metadata.height, maxPixels },
    );
  }
  try {
    const { data, info } = await sharp(input, { failOn: 'truncated', limitInputPixels: maxPixels })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) {
      throw modelError(ModelErrorCode.imageUnsupported, `decoded image has ${info.channels} channels, not 3`);
    }
    return { data, width: info.width, height: info.height };
  } catch (error) {
    if (isTpError(error)) throw error;
    decodeFailure(error, input.length, maxPixels);
  }
}

/** Wraps a raw rgb24 frame (as ffmpeg `-pix_fmt rgb24 -f rawvideo` writes it) after checking its size. */
export function rgbFrame(data: Uint8Array, width: number, height: number): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw modelError(ModelErrorCode.frameInvalid, `frame size ${width}x${height} is not valid`, {
      width,
      height,
    });
  }
  if (data.length !== width * height * 3) {
    throw modelError(
      ModelErrorCode.frameInvalid,
      `frame of ${width}x${height} RGB needs ${width * height * 3} bytes, got ${data.length}`,
      { width, height, bytes: data.length },
    );
  }
  return { data, width, height };
}
