// Decodes a video into RGB frames at the analysis rate, in order and without drops: the evaluations and the
// benchmark feed them to the pipeline one after the other, so that accuracy does not depend on load.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Frame } from '../../edge-agent/src/camera/types.ts';

export interface DecodedClip {
  frames: Frame[];
  /** CPU time the decoder used (ms), from this process's reaped-children times (Linux /proc). */
  decodeCpuMs: number;
}

/** CPU time of this process's waited-for children: fields 16 and 17 of /proc/self/stat, 100 ticks per second. */
function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/**
 * Every `1/fps` s of the clip as a frame (ffmpeg's fps filter), `capturedAt` = `startAt` + stream time, so a
 * run is reproducible. Frames are `width` x `height` as in the file.
 */
export async function decodeClip(path: string, fps: number, startAt = 0): Promise<DecodedClip> {
  const probe = await run('/usr/bin/ffprobe', [
    ...[
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height',
      '-of',
      'csv=p=0',
      path,
    ],
  ]);
  const [width, height] = probe.toString('utf8').trim().split(',').map(Number) as [number, number];
  const cpuBefore = childrenCpuMs();
  const raw = await run('/usr/bin/ffmpeg', [
    ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-threads', '1', '-i', path],
    ...['-vf', `fps=${fps}`, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
  ]);
  const decodeCpuMs = childrenCpuMs() - cpuBefore;
  const size = width * height * 3;
  const frames: Frame[] = [];
  for (let offset = 0, seq = 0; offset + size <= raw.length; offset += size, seq++) {
    frames.push({
      data: raw.subarray(offset, offset + size),
      width,
      height,
      capturedAt: startAt + Math.round((seq * 1000) / fps),
      seq,
    });
  }
  return { frames, decodeCpuMs };
}

function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}): ${err}`));
    });
  });
}
