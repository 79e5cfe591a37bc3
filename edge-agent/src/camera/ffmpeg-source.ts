import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import {
  type DeviceProfile,
  type Logger,
  type SecretEnvironment,
  scrubUrlCredentials,
  TpError,
} from '@truepresence/protocol';
import { AgentErrorCode } from '../errors.ts';
import { backoffDelayMs } from './backoff.ts';
import type { BackoffConfig } from './config.ts';
import { FfmpegLogParser, LineSplitter } from './ffmpeg-log.ts';
import type { CameraCounters, CameraHealth, CameraSource, CameraSourceEvents, CameraState } from './types.ts';

/** The device profile's `decode` section; only `hwaccel` is needed. */
export type DecodeSettings = Pick<DeviceProfile['decode'], 'hwaccel'> &
  Partial<Omit<DeviceProfile['decode'], 'hwaccel'>>;

/** What every camera source gets from the agent besides its own config. */
export interface CameraSourceDeps {
  logger: Logger;
  /** The system ffmpeg, normally /usr/bin/ffmpeg. */
  ffmpegPath: string;
  decode: DecodeSettings;
  secrets: SecretEnvironment;
}

export interface FfmpegSourceSettings {
  id: string;
  fps: number;
  maxWidth: number;
  openTimeoutMs: number;
  stallTimeoutMs: number;
  backoff: BackoffConfig;
}

/**
 * ffmpeg input options for the device profile's hardware decoding: an -hwaccel (frames come back to system
 * memory) and/or a decoder forced for the stream's codec, once that codec is known.
 */
function hardwareDecodeArgs(decode: DecodeSettings, codec: string | null): string[] {
  const args: string[] = [];
  if (decode.hwaccel !== 'none') {
    args.push('-hwaccel', decode.hwaccel);
    if (decode.device !== undefined) args.push('-hwaccel_device', decode.device);
  }
  const decoder = forcedDecoder(decode, codec);
  if (decoder !== undefined) args.push('-c:v', decoder);
  return args;
}

function forcedDecoder(decode: DecodeSettings, codec: string | null): string | undefined {
  return codec === 'h264' || codec === 'hevc' ? decode.decoders?.[codec] : undefined;
}

/**
 * Bounded analysis rate without duplicates: `select` keeps a frame when at least 0.9/fps s of stream time
 * passed since the last kept one. (The `fps` filter would duplicate frames of a slower camera and fill
 * network gaps with copies, which look like a face that does not move.)
 */
function outputArgs(settings: Pick<FfmpegSourceSettings, 'fps' | 'maxWidth'>): string[] {
  const minGap = (0.9 / settings.fps).toFixed(4);
  const filters = [
    `select='isnan(prev_selected_t)+gte(t-prev_selected_t,${minGap})'`,
    `scale='min(iw,${settings.maxWidth})':-2:flags=bilinear`,
  ];
  return [
    '-map',
    '0:v:0',
    '-vf',
    filters.join(','),
    '-fps_mode',
    'passthrough',
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

const stopGraceMs = 2000;
// Frames are only cut once ffmpeg has said their size; bytes before that are held, up to this bound.
const maxBytesBeforeSize = 64 * 1024 * 1024;

interface Attempt {
  child: ChildProcessByStdio<null, Readable, Readable>;
  parser: FfmpegLogParser;
  lines: LineSplitter;
  watchdog: NodeJS.Timeout;
  width: number;
  height: number;
  frameBytes: number;
  early: Buffer[];
  earlyBytes: number;
  frame: Buffer | null;
  filled: number;
  delivered: number;
  stalled: boolean;
  /** Whether this attempt asked ffmpeg for hardware decoding. */
  hardware: boolean;
  /** Killed on purpose to restart with the decoder forced for the codec just learnt. */
  switchingDecoder: boolean;
  spawnError: NodeJS.ErrnoException | null;
  hwaccelError: string | null;
  lastError: string | null;
  closed: Promise<void>;
}

/**
 * A camera decoded by a child ffmpeg that writes raw RGB24 frames on stdout; frames are cut by byte count.
 * It reconnects with exponential backoff and full jitter when ffmpeg ends, restarts ffmpeg when the first
 * frame does not come within `openTimeoutMs` or the next one within `stallTimeoutMs`, and counts the decode
 * errors that ffmpeg reports and gets over. Subclasses say which input to open.
 */
export abstract class FfmpegCameraSource extends EventEmitter<CameraSourceEvents> implements CameraSource {
  readonly id: string;
  protected readonly log: Logger;
  private state: CameraState = 'idle';
  private attempt: Attempt | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private running = false;
  private startToken = 0;
  private failures = 0;
  private seq = 0;
  private inputFps = 0;
  private inputWidth = 0;
  private inputHeight = 0;
  private framesDelivered = 0;
  private decodeErrors = 0;
  private reconnects = 0;
  private stalls = 0;
  private lastFrameAt: number | null = null;
  private lastError: string | null = null;
  private softwareDecode = false;
  /** The stream's codec as ffmpeg reported it without a forced decoder; picks the forced decoder. */
  private codec: string | null = null;

  constructor(
    private readonly settings: FfmpegSourceSettings,
    protected readonly deps: CameraSourceDeps,
  ) {
    super();
    this.id = settings.id;
    this.log = deps.logger.child({ component: 'camera', camera: settings.id });
  }

  /** Options and `-i` of the input, after the hardware decode options. */
  protected abstract inputArgs(): string[];

  /** Strings never to show, besides what `scrubUrlCredentials` removes (a password, in its spellings). */
  protected secrets(): string[] {
    return [];
  }

  /** Called by `start()` before the first attempt; a throw means the source cannot run. */
  protected async prepare(): Promise<void> {}

  /** Whether a clean end of the input is final (a file played once) rather than a reason to reconnect. */
  protected endIsFinal(): boolean {
    return false;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const token = ++this.startToken;
    await this.prepare();
    if (token !== this.startToken || this.running) return;
    this.running = true;
    this.failures = 0;
    this.spawnDecoder();
  }

  async stop(): Promise<void> {
    this.startToken += 1;
    this.running = false;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const attempt = this.attempt;
    if (attempt) {
      attempt.child.kill('SIGTERM');
      const kill = setTimeout(() => attempt.child.kill('SIGKILL'), stopGraceMs);
      await attempt.closed;
      clearTimeout(kill);
    }
    if (this.state !== 'stopped') this.setState({ state: 'stopped' });
  }

  counters(): CameraCounters {
    return {
      state: this.state,
      inputFps: this.inputFps,
      decoder: this.decoderName(),
      inputWidth: this.inputWidth,
      inputHeight: this.inputHeight,
      framesDelivered: this.framesDelivered,
      decodeErrors: this.decodeErrors,
      reconnects: this.reconnects,
      stalls: this.stalls,
      lastFrameAgeMs: this.lastFrameAt === null ? null : Date.now() - this.lastFrameAt,
      lastError: this.lastError,
    };
  }

  private decoderName(): string {
    if (this.softwareDecode) return 'cpu';
    const { hwaccel } = this.deps.decode;
    const parts = [
      hwaccel === 'none' ? [] : [hwaccel],
      forcedDecoder(this.deps.decode, this.codec) ?? [],
    ].flat();
    return parts.length === 0 ? 'cpu' : parts.join('+');
  }

  /** Makes text safe to log or show: URL credentials and the source's secrets removed. */
  protected scrub(text: string): string {
    let out = scrubUrlCredentials(text);
    for (const secret of this.secrets()) if (secret) out = out.split(secret).join('***');
    return out;
  }

  private spawnDecoder(): void {
    const hardware = this.softwareDecode ? [] : hardwareDecodeArgs(this.deps.decode, this.codec);
    const args = [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-loglevel',
      'level+info',
      ...hardware,
      ...this.inputArgs(),
      ...outputArgs(this.settings),
    ];
    this.log.debug({ args: args.map((a) => this.scrub(a)) }, 'starting ffmpeg');
    this.setState({ state: 'connecting' });
    const child = spawn(this.deps.ffmpegPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let closed!: () => void;
    const attempt: Attempt = {
      child,
      parser: new FfmpegLogParser(),
      lines: new LineSplitter(),
      watchdog: setTimeout(() => this.onStall(attempt), this.settings.openTimeoutMs),
      width: 0,
      height: 0,
      frameBytes: 0,
      early: [],
      earlyBytes: 0,
      frame: null,
      filled: 0,
      delivered: 0,
      stalled: false,
      hardware: hardware.length > 0,
      switchingDecoder: false,
      spawnError: null,
      hwaccelError: null,
      lastError: null,
      closed: new Promise<void>((resolve) => {
        closed = resolve;
      }),
    };
    this.attempt = attempt;
    child.on('error', (error: NodeJS.ErrnoException) => {
      attempt.spawnError = error;
    });
    child.stdout.on('data', (chunk: Buffer) => this.guard(() => this.onStdout(attempt, chunk)));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => this.guard(() => this.onStderr(attempt, chunk)));
    child.on('close', (code, signal) => {
      clearTimeout(attempt.watchdog);
      if (this.attempt === attempt) this.attempt = null;
      closed();
      this.guard(() => this.onClose(attempt, code, signal));
    });
  }

  private onStdout(attempt: Attempt, chunk: Buffer): void {
    if (!this.running) return;
    if (attempt.frameBytes === 0) {
      attempt.early.push(chunk);
      attempt.earlyBytes += chunk.length;
      if (attempt.earlyBytes > maxBytesBeforeSize) {
        attempt.lastError = 'ffmpeg sent frames without announcing their size';
        attempt.child.kill('SIGKILL');
      }
      return;
    }
    let offset = 0;
    while (offset < chunk.length) {
      attempt.frame ??= Buffer.allocUnsafe(attempt.frameBytes);
      const copied = chunk.copy(
        attempt.frame,
        attempt.filled,
        offset,
        offset + attempt.frameBytes - attempt.filled,
      );
      attempt.filled += copied;
      offset += copied;
      if (attempt.filled === attempt.frameBytes) {
        const data = attempt.frame;
        attempt.frame = null;
        attempt.filled = 0;
        this.deliver(attempt, data);
        if (!this.running || this.attempt !== attempt) return;
      }
    }
  }

  private deliver(attempt: Attempt, data: Buffer): void {
    const now = Date.now();
    this.seq += 1;
    this.framesDelivered += 1;
    this.lastFrameAt = now;
    if (attempt.delivered++ > 0) {
      attempt.watchdog.refresh();
    } else {
      clearTimeout(attempt.watchdog);
      attempt.watchdog = setTimeout(() => this.onStall(attempt), this.settings.stallTimeoutMs);
      this.failures = 0;
      this.log.info(
        {
          input: `${this.inputWidth}x${this.inputHeight}@${this.inputFps}`,
          output: `${attempt.width}x${attempt.height}`,
        },
        'camera streaming',
      );
      this.setState({ state: 'streaming' });
    }
    this.emit('frame', {
      data,
      width: attempt.width,
      height: attempt.height,
      capturedAt: now,
      seq: this.seq,
    });
  }

  private onStderr(attempt: Attempt, chunk: string): void {
    for (const line of attempt.lines.push(chunk)) {
      const event = attempt.parser.parse(line);
      if (!event) continue;
      switch (event.kind) {
        case 'input':
          this.inputWidth = event.width;
          this.inputHeight = event.height;
          this.inputFps = event.fps;
          if (this.codec === null) this.learnCodec(attempt, event.codec);
          break;
        case 'output':
          this.setFrameSize(attempt, event.width, event.height);
          break;
        case 'decodeError':
          this.decodeErrors += 1;
          this.log.debug({ detail: this.scrub(event.text) }, 'decode error');
          break;
        case 'hwaccelError':
          if (attempt.hardware) attempt.hwaccelError ??= this.scrub(event.text);
          else attempt.lastError = this.scrub(event.text);
          break;
        case 'error':
          attempt.lastError = this.scrub(event.text);
          break;
      }
    }
  }

  /** Once the codec is known, a decoder the device profile forces for it replaces this attempt. */
  private learnCodec(attempt: Attempt, codec: string): void {
    this.codec = codec;
    if (this.softwareDecode || forcedDecoder(this.deps.decode, codec) === undefined) return;
    attempt.switchingDecoder = true;
    attempt.child.kill('SIGKILL');
  }

  private setFrameSize(attempt: Attempt, width: number, height: number): void {
    attempt.width = width;
    attempt.height = height;
    attempt.frameBytes = width * height * 3;
    const early = Buffer.concat(attempt.early);
    attempt.early = [];
    attempt.earlyBytes = 0;
    if (early.length > 0) this.onStdout(attempt, early);
  }

  private onStall(attempt: Attempt): void {
    attempt.stalled = true;
    if (attempt.delivered > 0) this.stalls += 1;
    attempt.child.kill('SIGKILL');
  }

  private onClose(attempt: Attempt, exitCode: number | null, signal: NodeJS.Signals | null): void {
    if (!this.running) return;
    if (exitCode === 0 && this.endIsFinal()) {
      this.running = false;
      this.log.info('end of input');
      this.setState({ state: 'ended', detail: 'end of input' });
      return;
    }
    if (attempt.switchingDecoder) {
      this.spawnDecoder();
      return;
    }
    if (attempt.hwaccelError !== null && attempt.delivered === 0) {
      const decoder = this.decoderName();
      this.softwareDecode = true;
      this.log.warn(
        { code: AgentErrorCode.cameraHwaccelUnavailable, decoder, detail: attempt.hwaccelError },
        'hardware decoding unavailable; decoding on the CPU',
      );
      this.reconnects += 1;
      this.spawnDecoder();
      return;
    }
    let code: string;
    let detail: string;
    if (attempt.stalled && attempt.delivered > 0) {
      code = AgentErrorCode.cameraStalled;
      detail = `no frame for ${this.settings.stallTimeoutMs} ms; decoder restarted`;
    } else if (attempt.stalled) {
      code = AgentErrorCode.cameraOpenTimeout;
      detail = `no frame within ${this.settings.openTimeoutMs} ms of connecting${attempt.lastError === null ? '' : ` (${attempt.lastError})`}; decoder restarted`;
    } else if (attempt.spawnError) {
      code = AgentErrorCode.cameraFfmpegUnavailable;
      detail = `cannot run ${this.deps.ffmpegPath} (${attempt.spawnError.code ?? attempt.spawnError.message}); install ffmpeg or fix ffmpegPath`;
    } else {
      code = AgentErrorCode.cameraDecoderExited;
      const how = signal === null ? `code ${exitCode}` : `signal ${signal}`;
      detail = attempt.lastError === null ? `ffmpeg ended (${how})` : `${attempt.lastError} (ffmpeg ${how})`;
    }
    this.lastError = detail;
    const retryInMs = backoffDelayMs(this.failures++, this.settings.backoff);
    this.log.warn({ code, detail, retryInMs }, 'camera decoder ended; reconnecting');
    this.setState({ state: 'backoff', code, detail, retryInMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.reconnects += 1;
      this.guard(() => this.spawnDecoder());
    }, retryInMs);
  }

  private setState(change: Omit<CameraHealth, 'cameraId' | 'at'>): void {
    this.state = change.state;
    this.emit('health', { cameraId: this.id, at: Date.now(), ...change });
  }

  /**
   * Runs an event handler so that an unexpected throw (a bug, or a listener that throws) stops this source
   * and reports it as `failed` instead of taking the whole agent down; the supervisor restarts it.
   */
  private guard(handler: () => void): void {
    try {
      handler();
    } catch (cause) {
      // The cause is kept as scrubbed text only: its message or stack could hold a credential URL.
      const error = new TpError(
        AgentErrorCode.cameraCrashed,
        `camera ${this.id} failed: ${this.scrub(String(cause))}`,
        {
          details: { cameraId: this.id },
        },
      );
      this.log.error({ err: error }, 'camera source failed');
      this.stop().then(
        () => this.emit('failed', error),
        () => this.emit('failed', error),
      );
    }
  }
}
