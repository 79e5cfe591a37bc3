import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FfmpegLogParser, LineSplitter } from './ffmpeg-log.ts';

// Lines as ffmpeg 5.1 writes them with -loglevel level+info for an RTSP camera decoded to rgb24.
const session = [
  "[info] Input #0, rtsp, from 'rtsp://***@127.0.0.1:34309/stream':",
  '[info]   Metadata:',
  '[info]     title           : Session streamed with GStreamer',
  '[info]   Duration: N/A, start: 0.040000, bitrate: N/A',
  '[info]   Stream #0:0: Video: h264 (Constrained Baseline), yuv420p(progressive), 1280x720 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 90k tbn',
  '[info] Stream mapping:',
  '[info]   Stream #0:0 -> #0:0 (h264 (native) -> rawvideo (native))',
  "[info] Output #0, rawvideo, to 'pipe:1':",
  '[info]   Stream #0:0: Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 640x360 [SAR 1:1 DAR 16:9], q=2-31, 27648 kb/s, 25 fps, 25 tbn',
  '[h264 @ 0x55d0c0e1a9c0] [error] out of range intra chroma pred mode',
  '[h264 @ 0x55d0c0e1a9c0] [error] error while decoding MB 12 9, bytestream 311',
  '[error] Error while decoding stream #0:0: Invalid data found when processing input',
  '[h264 @ 0x55d0c0e1a9c0] [warning] concealing 120 DC, 120 AC, 120 MV errors in P frame',
  '[rtsp @ 0x55e0cf5e39c0] [error] method DESCRIBE failed: 401 Unauthorized',
];

test('reads the input and output video sizes, the input rate, and sorts decode errors from other errors', () => {
  const parser = new FfmpegLogParser();
  const events = session.map((line) => parser.parse(line)).filter((e) => e !== undefined);
  assert.deepEqual(events, [
    { kind: 'input', codec: 'h264', width: 1280, height: 720, fps: 25 },
    { kind: 'output', width: 640, height: 360 },
    { kind: 'decodeError', text: 'out of range intra chroma pred mode' },
    { kind: 'decodeError', text: 'error while decoding MB 12 9, bytestream 311' },
    {
      kind: 'decodeError',
      text: 'Error while decoding stream #0:0: Invalid data found when processing input',
    },
    { kind: 'error', text: 'method DESCRIBE failed: 401 Unauthorized' },
  ]);
});

test('tells a hardware decoder that cannot start from a decode error', () => {
  const parser = new FfmpegLogParser();
  const lines = [
    '[AVHWDeviceContext @ 0x55ff70bcee40] [error] No VA display found for device /dev/dri/renderD128.',
    '[error] Device creation failed: -22.',
    '[h264 @ 0x55ff70bce040] [error] No device available for decoder: device type vaapi needed for codec h264.',
    "[fatal] Unknown decoder 'h264_nvv4l2dec'",
  ];
  assert.deepEqual(
    lines.map((line) => parser.parse(line)?.kind),
    ['error', 'hwaccelError', 'hwaccelError', 'hwaccelError'],
  );
});

test('falls back to tbr when a stream announces no fps, and ignores lines without a level', () => {
  const parser = new FfmpegLogParser();
  assert.equal(parser.parse('Input #0, rtsp, from somewhere:'), undefined);
  assert.equal(parser.parse("[info] Input #0, rtsp, from 'rtsp://cam/x':"), undefined);
  assert.deepEqual(
    parser.parse('[info]   Stream #0:0: Video: hevc (Main), yuv420p(tv), 2560x1440, 15.50 tbr, 90k tbn'),
    { kind: 'input', codec: 'hevc', width: 2560, height: 1440, fps: 15.5 },
  );
});

test('splits chunks into lines across \\n, \\r\\n and \\r, keeping a partial line for later', () => {
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push('[info] one\n[info] tw'), ['[info] one']);
  assert.deepEqual(splitter.push('o\r\n[info] three\rframe=1'), ['[info] two', '[info] three']);
  assert.deepEqual(splitter.push('\n'), ['frame=1']);
});
