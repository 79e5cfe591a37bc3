// Builds walk-by clips for the demo and the end-to-end tests from real photos that ship in npm packages:
// faces are cut out of the group photos of @vladmandic/face-api, feathered into 3:4 portraits and moved
// across a drawn corridor, growing as they approach the camera (the recipe of ../shared/data/video).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const execFileAsync = promisify(execFile);

/** Real group photos shipped by the @vladmandic/face-api package (sample1.jpg ... sample6.jpg). */
export const facePhotos: readonly string[] = [1, 2, 3, 4, 5, 6].map((n) =>
  join(
    import.meta.dirname,
    '..',
    '..',
    '..',
    'node_modules',
    '@vladmandic',
    'face-api',
    'demo',
    `sample${n}.jpg`,
  ),
);

/** Runs the system ffmpeg quietly, overwriting outputs; rejects with its error output. */
export async function runFfmpeg(args: string[]): Promise<void> {
  try {
    await execFileAsync(
      '/usr/bin/ffmpeg',
      ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${stderr || String(error)}`);
  }
}

/** A face in one of the group photos: photo number (1-6) and its box, x1 y1 x2 y2 in photo pixels. */
export interface PhotoFace {
  photo: number;
  box: readonly [number, number, number, number];
}

/**
 * Faces found once in the face-api sample photos with the default pack's detector (score >= 0.94), each a
 * different person to the default pack: no pair scores above 0.3 (photo 1's right-hand face is left out, it
 * scores 0.61 against s3Middle, likely the same woman).
 */
export const sampleFaces = {
  s1Left: { photo: 1, box: [417, 359, 600, 595] },
  s2Right: { photo: 2, box: [1438, 162, 1642, 392] },
  s3Left: { photo: 3, box: [589, 330, 791, 609] },
  s3Middle: { photo: 3, box: [1075, 196, 1298, 502] },
  s4Left: { photo: 4, box: [264, 195, 423, 448] },
  s5Top: { photo: 5, box: [794, 117, 953, 326] },
  s6Left: { photo: 6, box: [252, 484, 467, 761] },
  s6Right: { photo: 6, box: [1481, 260, 1700, 555] },
} as const satisfies Record<string, PhotoFace>;

export interface Walker {
  /** Who walks: the identity to enrol, or a name for a person who is not enrolled. */
  name: string;
  face: PhotoFace;
  enrolled: boolean;
  /** Clip seconds of the walk. */
  start: number;
  end: number;
  /** Centre of the portrait at the start and at the end, frame pixels. */
  from: readonly [number, number];
  to: readonly [number, number];
  /** Portrait height at the start and at the end, pixels (the face is about 40% of it). */
  heights: readonly [number, number];
}

export interface Scene {
  width: number;
  height: number;
  fps: number;
  seconds: number;
  walkers: readonly Walker[];
  /** A printed photo held up and swayed instead of a person walking: a rigid, low-contrast card. */
  print?: { face: PhotoFace; start: number; end: number };
}

/** What the test expects, written next to the clip. */
export interface GroundTruth {
  clip: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
  walkers: Array<{
    name: string;
    enrolled: boolean;
    start: number;
    end: number;
    expected: 'attendance' | 'duplicate' | 'unknown';
  }>;
  print: { start: number; end: number; expected: 'spoof or nothing' } | null;
}

const portrait = { width: 480, height: 640 };

/** The region of the photo cut for a face: 3:4, 1.8 face widths wide, the face a little above its centre. */
function portraitRegion(face: PhotoFace, width: number, height: number, widthInFaces = 1.8) {
  const [x1, y1, x2, y2] = face.box;
  const w = Math.min(width, Math.round((x2 - x1) * widthInFaces));
  const h = Math.min(height, Math.round((w * 4) / 3));
  const cx = (x1 + x2) / 2;
  const cy = (y1 + y2) / 2 + (y2 - y1) * 0.15;
  return {
    left: Math.round(Math.min(Math.max(0, cx - w / 2), width - w)),
    top: Math.round(Math.min(Math.max(0, cy - h / 2), height - h)),
    width: w,
    height: h,
  };
}

/** A 480x640 portrait of the face with a feathered elliptical edge (alpha), as a PNG. */
async function cutPortrait(face: PhotoFace, out: string): Promise<void> {
  const photo = sharp(facePhotos[face.photo - 1]!);
  const { width = 0, height = 0 } = await photo.metadata();
  const mask = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${portrait.width}" height="${portrait.height}">
      <defs><filter id="f"><feGaussianBlur stdDeviation="18"/></filter></defs>
      <ellipse cx="240" cy="300" rx="205" ry="290" fill="white" filter="url(#f)"/></svg>`,
  );
  await photo
    .extract(portraitRegion(face, width, height))
    .resize(portrait.width, portrait.height)
    .ensureAlpha()
    .composite([{ input: mask, blend: 'dest-in' }])
    .png()
    .toFile(out);
}

/** A printed photo of the face: faded colours, lower contrast, a white paper border, a dark frame, a glare. */
async function printCard(face: PhotoFace, out: string): Promise<void> {
  const photo = sharp(facePhotos[face.photo - 1]!);
  const { width = 0, height = 0 } = await photo.metadata();
  const glare = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="400">
      <defs><filter id="f"><feGaussianBlur stdDeviation="8"/></filter></defs>
      <polygon points="40,400 110,400 300,90 300,20" fill="white" fill-opacity="0.35" filter="url(#f)"/></svg>`,
  );
  const picture = await photo
    .extract(portraitRegion(face, width, height, 2.2))
    .resize(300, 400)
    .modulate({ saturation: 0.75 })
    .linear(0.8, 24)
    .composite([{ input: glare }])
    .toBuffer();
  // One extend per pipeline: sharp keeps only the last of several.
  const paper = await sharp(picture)
    .extend({ top: 22, bottom: 22, left: 22, right: 22, background: '#f2f0ea' })
    .toBuffer();
  await sharp(paper)
    .extend({ top: 14, bottom: 14, left: 14, right: 14, background: '#1c1c1c' })
    .png()
    .toFile(out);
}

/** A drawn corridor with a doorway at the back (no real scene). */
async function background(width: number, height: number, out: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#b8b4aa"/><stop offset="1" stop-color="#6e6a62"/></linearGradient></defs>
    <rect width="${width}" height="${height}" fill="url(#g)"/>
    <polygon points="0,${height} ${width},${height} ${width * 0.62},${height * 0.6} ${width * 0.38},${height * 0.6}" fill="#5a564f"/>
    <rect x="${width * 0.4}" y="${height * 0.18}" width="${width * 0.2}" height="${height * 0.42}" fill="#3b3935"/>
    <rect x="${width * 0.39}" y="${height * 0.16}" width="${width * 0.22}" height="${height * 0.03}" fill="#8a857b"/>
    <rect x="${width * 0.08}" y="${height * 0.25}" width="${width * 0.12}" height="${height * 0.3}" fill="#9c978d"/>
    <circle cx="${width * 0.5}" cy="${height * 0.07}" r="${height * 0.03}" fill="#f4f1e6"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(out);
}

const fixed = (v: number) => Number(v.toFixed(4));

/**
 * Renders the scene into `dir/name.mp4` (H.264, yuv420p, a key frame every 25 frames, no B-frames) and
 * writes its ground truth to `dir/name.json`. A walker already enrolled and seen earlier in the scene is
 * expected to give no second attendance ("duplicate").
 */
export async function buildScene(dir: string, name: string, scene: Scene): Promise<GroundTruth> {
  const { width, height, fps, seconds, walkers } = scene;
  await background(width, height, join(dir, `${name}-bg.png`));
  const inputs = [
    '-loop',
    '1',
    '-framerate',
    String(fps),
    '-t',
    String(seconds),
    '-i',
    join(dir, `${name}-bg.png`),
  ];
  const filters: string[] = [];
  let last = '0:v';
  for (const [i, walker] of walkers.entries()) {
    const png = join(dir, `${name}-w${i}.png`);
    await cutPortrait(walker.face, png);
    const duration = walker.end - walker.start;
    inputs.push('-loop', '1', '-framerate', String(fps), '-t', String(duration), '-i', png);
    const [h0, h1] = walker.heights;
    const progress = `((t-${walker.start})/${duration})`;
    const [x0, y0] = walker.from;
    const [x1, y1] = walker.to;
    filters.push(
      `[${i + 1}:v]format=rgba,scale=w=-2:h='2*trunc((${h0}+(${h1 - h0})*t/${duration})/2)':eval=frame,setpts=PTS-STARTPTS+${walker.start}/TB[s${i}]`,
      `[${last}][s${i}]overlay=x='(${x0}+(${x1 - x0})*${progress})-overlay_w/2':y='(${y0}+(${y1 - y0})*${progress})-overlay_h/2':eof_action=pass:enable='between(t,${walker.start},${walker.end})'[o${i}]`,
    );
    last = `o${i}`;
  }
  if (scene.print) {
    const png = join(dir, `${name}-print.png`);
    await printCard(scene.print.face, png);
    const { start, end } = scene.print;
    inputs.push('-loop', '1', '-framerate', String(fps), '-t', String(end - start), '-i', png);
    const index = walkers.length + 1;
    filters.push(
      `[${index}:v]format=rgba,noise=alls=14:allf=u,rotate=a='0.06*sin(2*PI*t/2.7)':c=none:ow=rotw(0.1):oh=roth(0.1),setpts=PTS-STARTPTS+${start}/TB[p]`,
      `[${last}][p]overlay=x='(W-w)/2+110*sin(2*PI*t/5)':y='(H-h)/2-30+20*sin(2*PI*t/1.9)':eof_action=pass:enable='between(t,${start},${end})'[op]`,
    );
    last = 'op';
  }
  // Light sensor noise: heavier noise makes the clip slow to encode and heavy to stream.
  filters.push(`[${last}]noise=alls=2:allf=t,format=yuv420p[v]`);
  const clip = join(dir, `${name}.mp4`);
  await runFfmpeg([
    ...inputs,
    ...['-filter_complex', filters.join(';'), '-map', '[v]', '-t', String(seconds), '-r', String(fps)],
    ...[
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '20',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '25',
      '-bf',
      '0',
    ],
    ...['-movflags', '+faststart', '-an', clip],
  ]);
  const seen = new Set<string>();
  const truth: GroundTruth = {
    clip,
    width,
    height,
    fps,
    seconds,
    walkers: walkers.map((w) => {
      const expected = !w.enrolled ? 'unknown' : seen.has(w.name) ? 'duplicate' : 'attendance';
      seen.add(w.name);
      return { name: w.name, enrolled: w.enrolled, start: fixed(w.start), end: fixed(w.end), expected };
    }),
    print: scene.print
      ? { start: scene.print.start, end: scene.print.end, expected: 'spoof or nothing' }
      : null,
  };
  await writeFile(join(dir, `${name}.json`), `${JSON.stringify(truth, null, 2)}\n`);
  return truth;
}

/**
 * An enrolment photo of a face: a wider crop at the photo's own scale, not the clip's portrait, with
 * `marginInFaces` face widths around the box (smaller where a neighbour's face would enter the crop).
 */
export async function enrolmentPhoto(face: PhotoFace, marginInFaces = 0.9): Promise<Buffer> {
  const photo = sharp(facePhotos[face.photo - 1]!);
  const { width = 0, height = 0 } = await photo.metadata();
  const [x1, y1, x2, y2] = face.box;
  const margin = Math.round((x2 - x1) * marginInFaces);
  const left = Math.max(0, x1 - margin);
  const top = Math.max(0, y1 - margin);
  return photo
    .extract({
      left,
      top,
      width: Math.min(width, x2 + margin) - left,
      height: Math.min(height, y2 + margin) - top,
    })
    .jpeg({ quality: 92 })
    .toBuffer();
}
