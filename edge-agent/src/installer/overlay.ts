import sharp from 'sharp';
import type { Frame } from '../camera/types.ts';
import type { FaceView } from '../pipeline/camera-analyser.ts';

const escapeXml = (text: string) =>
  text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

/** One label per face: eye distance, sharpness and the gate's verdict (the limits it misses). */
export function faceLabel(face: FaceView): string {
  const verdict = face.verdict.pass ? 'OK' : face.verdict.issues.join(', ');
  return `eyes ${face.quality.interEyePx.toFixed(0)} px · sharp ${face.quality.sharpness.toFixed(0)} · ${verdict}`;
}

/** The SVG drawn over a frame: a box per face, green when it passes the gate, red when not, and its label. */
export function overlaySvg(
  width: number,
  height: number,
  faces: readonly FaceView[],
  caption: string,
): string {
  const font = Math.max(12, Math.round(height / 40));
  const stroke = Math.max(2, Math.round(height / 240));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="${font}">`,
    `<rect x="0" y="0" width="${width}" height="${font * 1.6}" fill="black" fill-opacity="0.55"/>`,
    `<text x="${font * 0.5}" y="${font * 1.15}" fill="white">${escapeXml(caption)}</text>`,
  ];
  for (const face of faces) {
    const { x, y, width: w, height: h } = face.box;
    const colour = face.verdict.pass ? '#2ecc40' : '#ff4136';
    const label = escapeXml(faceLabel(face));
    const labelY = y > font * 3 ? y - font * 0.4 : y + h + font * 1.1;
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
      `<text x="${x.toFixed(1)}" y="${labelY.toFixed(1)}" fill="${colour}" stroke="black" stroke-width="${Math.max(1, stroke / 2)}" paint-order="stroke">${label}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** The frame as a JPEG with the faces, their measures and the gate verdicts drawn on it. */
export async function renderFrameJpeg(
  frame: Frame,
  faces: readonly FaceView[],
  caption: string,
  quality: number,
): Promise<Buffer> {
  const svg = overlaySvg(frame.width, frame.height, faces, caption);
  return sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .jpeg({ quality })
    .toBuffer();
}
