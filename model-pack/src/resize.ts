import sharp from 'sharp';
import type { Box } from './geometry.ts';
import type { RgbImage } from './image.ts';

/**
 * The integer `crop` of `image` resized to width x height (antialiased when shrinking), by libvips on
 * libuv's thread pool: a whole camera frame shrunk for the detector costs the main thread nothing.
 */
export async function resizeCrop(
  image: RgbImage,
  crop: Box,
  width: number,
  height: number,
): Promise<RgbImage> {
  const input = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  const data = await sharp(input, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left: crop.x, top: crop.y, width: crop.width, height: crop.height })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width, height };
}
