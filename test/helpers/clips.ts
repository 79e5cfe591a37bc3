import { readFile, writeFile } from 'node:fs/promises';
import { facePhotos, runFfmpeg } from '../../provisioning/src/demo/clip.ts';

export { facePhotos };

/** A view of the photo: `zoom` 1 shows its whole width; `x`, `y` are the view's centre in [0, 1]. */
export interface View {
  zoom: number;
  x: number;
  y: number;
}

export interface ClipOptions {
  photo: string;
  /** Output .mp4 path. */
  out: string;
  width?: number;
  height?: number;
  seconds?: number;
  fps?: number;
  /** The view moves linearly from `from` to `to`; a walk-by is a zoom growing while the centre moves. */
  from?: View;
  to?: View;
}

/**
 * Encodes an H.264 mp4 (yuv420p, a key frame every 25 frames, no B-frames) from a still photo, with the
 * camera view panning and zooming over it. Resolves with `out`. Compose longer scenes with concatClips.
 */
export async function makeClip(options: ClipOptions): Promise<string> {
  const { width = 640, height = 360, seconds = 4, fps = 25 } = options;
  const from = options.from ?? { zoom: 1, x: 0.5, y: 0.5 };
  const to = options.to ?? from;
  const frames = Math.round(seconds * fps);
  const p = `min(on/${Math.max(frames - 1, 1)},1)`;
  const lerp = (a: number, b: number) => `(${a}+(${b - a})*${p})`;
  const filter = [
    // Crop to the output's aspect first so that zoompan does not stretch the photo.
    `crop='min(iw,ih*${width}/${height})':'min(ih,iw*${height}/${width})'`,
    `scale=${width * 2}:${height * 2}`,
    `zoompan=z='${lerp(from.zoom, to.zoom)}':x='${lerp(from.x, to.x)}*iw-iw/zoom/2':y='${lerp(from.y, to.y)}*ih-ih/zoom/2':d=1:s=${width}x${height}:fps=${fps}`,
    'setsar=1',
  ].join(',');
  await runFfmpeg([
    ...['-loop', '1', '-framerate', String(fps), '-i', options.photo],
    ...['-vf', filter, '-frames:v', String(frames)],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '25', '-bf', '0'],
    ...['-movflags', '+faststart', '-an', options.out],
  ]);
  return options.out;
}

/** Joins clips made with the same size and rate, without re-encoding; resolves with `out`. */
export async function concatClips(inputs: readonly string[], out: string): Promise<string> {
  const list = `${out}.txt`;
  await writeFile(list, inputs.map((file) => `file '${file.replaceAll("'", "'\\''")}'\n`).join(''));
  await runFfmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-movflags', '+faststart', out]);
  return out;
}

/** A deterministic pseudo-random generator (mulberry32), so that a corrupt file is the same every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Copies an mp4 with `hits` runs of random bytes written into its media data (the container stays
 * readable): a stream whose frames are corrupt, as a flaky camera or link produces.
 */
export async function corruptClip(input: string, out: string, hits = 40, seed = 1): Promise<string> {
  const data = await readFile(input);
  const mdat = data.indexOf('mdat');
  if (mdat < 4) throw new Error(`${input} has no mdat box`);
  const start = mdat + 4;
  const end = mdat - 4 + data.readUInt32BE(mdat - 4);
  const random = seededRandom(seed);
  // The first tenth is left intact so that the stream starts with a good key frame.
  const first = start + Math.floor((end - start) / 10);
  for (let i = 0; i < hits; i++) {
    const offset = first + Math.floor(random() * (end - first - 256));
    for (let j = 0; j < 200; j++) data[offset + j] = Math.floor(random() * 256);
  }
  await writeFile(out, data);
  return out;
}

/** Writes `bytes` pseudo-random bytes: a file that no demuxer can read. */
export async function writeRandomFile(out: string, bytes: number, seed = 2): Promise<string> {
  const random = seededRandom(seed);
  await writeFile(out, Buffer.from(Array.from({ length: bytes }, () => Math.floor(random() * 256))));
  return out;
}
