import type { ModelPack, QualityIssue, QualityLimits } from '@truepresence/model-pack';
import { rgbFrame } from '@truepresence/model-pack';
import {
  type Logger,
  parseConfig,
  type SecretEnvironment,
  scrubUrlCredentials,
  TpError,
} from '@truepresence/protocol';
import { type CameraConfig, cameraConfigSchema } from '../camera/config.ts';
import { LatestFrameSlot } from '../camera/latest-frame-slot.ts';
import { createCameraSource } from '../camera/sources.ts';
import type { Frame } from '../camera/types.ts';
import { AgentErrorCode } from '../errors.ts';
import { pipelineConfigSchema } from '../pipeline/config.ts';
import { detectFaces } from '../pipeline/detection.ts';
import { measureFace } from '../pipeline/face-measure.ts';

export interface CheckCameraDeps {
  /** A started model pack. */
  pack: ModelPack;
  logger: Logger;
  ffmpegPath: string;
  secrets: SecretEnvironment;
}

export interface CheckCameraReport {
  /** The stream, credentials scrubbed. */
  source: string;
  seconds: number;
  frames: number;
  framesAnalysed: number;
  width: number;
  height: number;
  inputFps: number;
  decodeErrors: number;
  lastError: string | null;
  framesWithFace: number;
  framesWithUsableFace: number;
  /** The largest face seen: its eye distance and sharpness, and the limits they are held to. */
  largest: { interEyePx: number; sharpness: number; brightness: number } | null;
  sharpest: number | null;
  limits: QualityLimits;
  /** How many faces missed each limit. */
  issues: Partial<Record<QualityIssue, number>>;
  verdict: 'ok' | 'no-frames' | 'no-usable-face';
}

const detection = parseConfig(pipelineConfigSchema, {}, 'defaults').detection;

/**
 * Connects to a camera, analyses its frames for `seconds` (latest frame wins) and says whether faces at the
 * entrance are large, sharp and lit enough for recognition with the pack's quality limits.
 */
export async function checkCamera(
  camera: CameraConfig,
  seconds: number,
  deps: CheckCameraDeps,
): Promise<CheckCameraReport> {
  const source = createCameraSource(camera, {
    logger: deps.logger,
    ffmpegPath: deps.ffmpegPath,
    decode: { hwaccel: 'none' },
    secrets: deps.secrets,
  });
  const limits = deps.pack.qualityLimits;
  const slot = new LatestFrameSlot<Frame>();
  let wake: (() => void) | null = null;
  source.on('frame', (frame) => {
    slot.put(frame);
    wake?.();
  });
  const report: CheckCameraReport = {
    source: camera.type === 'rtsp' ? scrubUrlCredentials(camera.url) : camera.path,
    seconds,
    frames: 0,
    framesAnalysed: 0,
    width: 0,
    height: 0,
    inputFps: 0,
    decodeErrors: 0,
    lastError: null,
    framesWithFace: 0,
    framesWithUsableFace: 0,
    largest: null,
    sharpest: null,
    limits,
    issues: {},
    verdict: 'no-frames',
  };
  const deadline = Date.now() + seconds * 1000;
  const timer = setTimeout(() => wake?.(), seconds * 1000);
  await source.start();
  try {
    while (Date.now() < deadline) {
      const frame = slot.take();
      if (!frame) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = null;
        continue;
      }
      const image = rgbFrame(frame.data, frame.width, frame.height);
      const candidates = await detectFaces(
        deps.pack,
        image,
        { ...detection, regions: [] },
        { tiles: true, tracked: [] },
      );
      const faces = await Promise.all(candidates.map((face) => deps.pack.locate(image, face)));
      const measured = faces.map((face) => measureFace(deps.pack, image, face, limits));
      report.framesAnalysed += 1;
      if (measured.length > 0) report.framesWithFace += 1;
      if (measured.some((m) => m.verdict.pass)) report.framesWithUsableFace += 1;
      for (const { quality, verdict } of measured) {
        for (const issue of verdict.issues) report.issues[issue] = (report.issues[issue] ?? 0) + 1;
        if (!report.largest || quality.interEyePx > report.largest.interEyePx) {
          report.largest = {
            interEyePx: quality.interEyePx,
            sharpness: quality.sharpness,
            brightness: quality.brightness,
          };
        }
        report.sharpest = Math.max(report.sharpest ?? 0, quality.sharpness);
      }
    }
  } finally {
    clearTimeout(timer);
    await source.stop();
  }
  const counters = source.counters();
  report.frames = counters.framesDelivered;
  report.width = counters.inputWidth;
  report.height = counters.inputHeight;
  report.inputFps = counters.inputFps;
  report.decodeErrors = counters.decodeErrors;
  report.lastError = counters.lastError;
  report.verdict =
    report.frames === 0 ? 'no-frames' : report.framesWithUsableFace > 0 ? 'ok' : 'no-usable-face';
  return report;
}

const issueAdvice: Record<QualityIssue, string> = {
  'face-too-small': 'faces too small: move the camera closer or zoom in',
  'eyes-too-close': 'eyes too few pixels apart: move the camera closer, zoom in or raise the resolution',
  blurry: 'faces blurry: focus the lens, shorten the exposure or clean the window',
  'too-dark': 'faces too dark: add light or turn on backlight compensation (WDR)',
  'too-bright': 'faces over-exposed: reduce exposure or avoid direct sunlight',
  yaw: 'faces turned sideways: aim the camera along the walking direction',
  pitch: 'faces seen too steeply from above or below: mount the camera nearer to face height',
  roll: 'faces tilted: level the camera',
};

/** The report as lines for a person holding a ladder. */
export function formatCheckReport(report: CheckCameraReport): string {
  const lines = [`camera ${report.source}: ${report.frames} frame(s) in ${report.seconds} s`];
  if (report.frames === 0) {
    lines.push(`NO FRAMES${report.lastError ? `: ${report.lastError}` : ''}`);
    return lines.join('\n');
  }
  lines.push(
    `stream ${report.width}x${report.height} at ${report.inputFps} fps, ${report.decodeErrors} decode error(s)`,
    `analysed ${report.framesAnalysed} frame(s): a face on ${report.framesWithFace}, a usable face on ${report.framesWithUsableFace}`,
  );
  const { limits, largest } = report;
  if (largest) {
    lines.push(
      `largest face: eyes ${largest.interEyePx.toFixed(0)} px apart (needs >= ${limits.minInterEyePx}), sharpness ${largest.sharpness.toFixed(0)} (needs >= ${limits.minSharpness}), brightness ${largest.brightness.toFixed(0)} (needs ${limits.minBrightness}..${limits.maxBrightness})`,
    );
  }
  const issues = Object.entries(report.issues).sort((a, b) => b[1] - a[1]) as Array<[QualityIssue, number]>;
  for (const [issue, count] of issues) lines.push(`  ${count}x ${issueAdvice[issue]}`);
  lines.push(
    report.verdict === 'ok'
      ? 'OK: faces at this entrance are large and sharp enough'
      : 'NOT USABLE: no face was large, sharp, lit and frontal enough; walk past the camera during the check',
  );
  return lines.join('\n');
}

const usage =
  'usage: truepresence-agent check-camera URL|FILE [--seconds N] [--transport tcp|udp] [--user NAME --password-file PATH]';

/** Reads the check-camera arguments into a camera config (the password comes from a file, never argv). */
export function parseCheckCameraArgs(argv: readonly string[]): { camera: CameraConfig; seconds: number } {
  const fail = (message: string): never => {
    throw new TpError(AgentErrorCode.checkCameraUsage, `${message}\n${usage}`);
  };
  let target: string | undefined;
  let seconds = 5;
  let transport: string | undefined;
  let user: string | undefined;
  let passwordFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => argv[++i] ?? fail(`${arg} needs a value`);
    if (arg === '--seconds') seconds = Number(value());
    else if (arg === '--transport') transport = value();
    else if (arg === '--user') user = value();
    else if (arg === '--password-file') passwordFile = value();
    else if (arg.startsWith('--')) fail(`unknown option ${arg}`);
    else if (target === undefined) target = arg;
    else fail(`unexpected argument ${arg}`);
  }
  if (target === undefined) return fail('a camera URL or video file is required');
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 300) fail('--seconds must be between 0 and 300');
  if ((user === undefined) !== (passwordFile === undefined)) fail('--user and --password-file go together');
  const raw = /^rtsps?:\/\//i.test(target)
    ? {
        type: 'rtsp',
        id: 'check',
        url: target,
        ...(transport === undefined ? {} : { transport }),
        ...(user === undefined ? {} : { credentials: { username: user, password: { file: passwordFile } } }),
      }
    : { type: 'file', id: 'check', path: target, loop: false };
  try {
    return { camera: parseConfig(cameraConfigSchema, raw, 'check-camera arguments'), seconds };
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}

/**
 * `truepresence-agent check-camera ...`: prints the report; exit code 0 when a usable face was seen, 3 when
 * no frame arrived, 4 when frames came but no face was usable, 2 on bad arguments.
 */
export async function runCheckCamera(
  argv: readonly string[],
  deps: CheckCameraDeps,
  print: (text: string) => void,
): Promise<number> {
  let parsed: { camera: CameraConfig; seconds: number };
  try {
    parsed = parseCheckCameraArgs(argv);
  } catch (error) {
    print(`${AgentErrorCode.checkCameraUsage}: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  const report = await checkCamera(parsed.camera, parsed.seconds, deps);
  print(formatCheckReport(report));
  if (report.verdict === 'no-frames') {
    print(
      `${AgentErrorCode.checkCameraNoFrames}: no frame from the camera; check the URL, credentials and network`,
    );
    return 3;
  }
  if (report.verdict === 'no-usable-face') {
    print(`${AgentErrorCode.checkCameraNoUsableFace}: no usable face seen`);
    return 4;
  }
  return 0;
}
