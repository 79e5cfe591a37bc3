// The picture an installer looks at: boxes, landmarks and scores drawn over the photo, as PNG.
import sharp from 'sharp';
import type { RgbImage } from './image.ts';
import type { Face } from './pack.ts';

export async function annotatedPng(
  image: RgbImage,
  faces: ReadonlyArray<Face & { label?: string }>,
): Promise<Buffer> {
  const stroke = Math.max(2, Math.round(Math.min(image.width, image.height) / 300));
  const font = stroke * 8;
  const shapes = faces.map((face, i) => {
    const { x, y, width, height } = face.box;
    const dots = face.landmarks
      .map(
        (p) => `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="${stroke * 1.5}" fill="#ff3b30"/>`,
      )
      .join('');
    const label = face.label ?? `#${i} ${face.score.toFixed(2)}`;
    return (
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${width.toFixed(1)}" height="${height.toFixed(1)}" fill="none" stroke="#34c759" stroke-width="${stroke}"/>` +
      `<text x="${x.toFixed(1)}" y="${(y - stroke * 2).toFixed(1)}" fill="#34c759" font-family="sans-serif" font-size="${font}">${label.replace(/[<>&]/g, '')}</text>${dots}`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${shapes.join('')}</svg>`;
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toBuffer();
}
