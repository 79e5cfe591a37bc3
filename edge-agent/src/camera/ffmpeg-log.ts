/**
 * Reads ffmpeg's stderr, run with `-loglevel level+info -nostats`: every line carries its level
 * (`[h264 @ 0x55d0] [error] ...`, `[info]   Stream #0:0: Video: ...`).
 */

export type FfmpegLogEvent =
  | { kind: 'input'; codec: string; width: number; height: number; fps: number }
  | { kind: 'output'; width: number; height: number }
  | { kind: 'decodeError'; text: string }
  | { kind: 'hwaccelError'; text: string }
  | { kind: 'error'; text: string };

const linePattern = /^(?:\[([\w:.-]+) @ 0x[0-9a-f]+\] )?\[(\w+)\] (.*)$/;
const videoStreamPattern = /^\s*Stream #\d+:\d+\S*: Video: (\w+).*?, (\d{1,5})x(\d{1,5})\b/;
const fpsPattern = /, (\d+(?:\.\d+)?) fps\b/;
const tbrPattern = /, (\d+(?:\.\d+)?) tbr\b/;
// Contexts of video decoders, software and hardware ones; their errors are corrupt or undecodable data.
const decoderContext =
  /^(?:h264|hevc|h265|mpeg4|mpeg2video|mjpeg|vp8|vp9|av1|libdav1d|\w+_(?:cuvid|qsv|v4l2m2m|vaapi|rkmpp|nvmpi))$/;
// What ffmpeg says when a hardware decoder (-hwaccel, or one forced with -c:v) cannot be used here.
const hwaccelFailure =
  /Device creation failed|Device setup failed|No device available for decoder|Failed setup for format|hwaccel initialisation returned error|Unknown decoder|Error while opening decoder/;
const errorLevels = new Set(['panic', 'fatal', 'error']);

export class FfmpegLogParser {
  private section: 'none' | 'input' | 'output' = 'none';
  private inputSeen = false;
  private outputSeen = false;

  /** Parses one line; returns what it says that matters to a camera source, if anything. */
  parse(line: string): FfmpegLogEvent | undefined {
    const match = linePattern.exec(line);
    if (!match) return undefined;
    const context = match[1];
    const level = match[2] ?? '';
    const text = match[3] ?? '';
    if (errorLevels.has(level)) {
      if (hwaccelFailure.test(text)) return { kind: 'hwaccelError', text };
      if (
        (context !== undefined && decoderContext.test(context)) ||
        text.startsWith('Error while decoding')
      ) {
        return { kind: 'decodeError', text };
      }
      return { kind: 'error', text };
    }
    if (text.startsWith('Input #0')) this.section = 'input';
    else if (text.startsWith('Output #0')) this.section = 'output';
    const stream = videoStreamPattern.exec(text);
    if (!stream) return undefined;
    const width = Number(stream[2]);
    const height = Number(stream[3]);
    if (this.section === 'input' && !this.inputSeen) {
      this.inputSeen = true;
      const fps = fpsPattern.exec(text) ?? tbrPattern.exec(text);
      return { kind: 'input', codec: stream[1] ?? '', width, height, fps: fps ? Number(fps[1]) : 0 };
    }
    if (this.section === 'output' && !this.outputSeen) {
      this.outputSeen = true;
      return { kind: 'output', width, height };
    }
    return undefined;
  }
}

/** Splits a byte stream into lines; ffmpeg ends progress lines with \r, everything else with \n. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const parts = (this.rest + chunk).split(/\r\n|\r|\n/);
    this.rest = parts.pop() ?? '';
    // A line without an end that grows without bound is not ffmpeg talking; keep memory bounded.
    if (this.rest.length > 64 * 1024) this.rest = '';
    return parts.filter((p) => p.length > 0);
  }
}
