import type { EventEmitter } from 'node:events';
import type { TpError } from '@truepresence/protocol';

/** One decoded frame: packed RGB24, `width * height * 3` bytes, owned by whoever receives it. */
export interface Frame {
  data: Buffer;
  width: number;
  height: number;
  /** Wall-clock time (ms since the epoch) at which the agent received the whole frame. */
  capturedAt: number;
  /** Per-source frame number; increases across reconnects, so a gap means frames were lost. */
  seq: number;
}

/** `ended`: a file played once reached its end. `stopped`: `stop()` was called. */
export type CameraState = 'idle' | 'connecting' | 'streaming' | 'backoff' | 'ended' | 'stopped';

/** A change in a source's condition. `detail` is safe to show and log: credentials are scrubbed. */
export interface CameraHealth {
  cameraId: string;
  state: CameraState;
  at: number;
  /** A `TP_AGENT_CAMERA_*` code when the change was caused by a failure. */
  code?: string;
  detail?: string;
  /** Delay before the next attempt, when `state` is `backoff`. */
  retryInMs?: number;
}

export interface CameraCounters {
  state: CameraState;
  /** Frame rate the camera sends, as announced by its stream (0 until known). */
  inputFps: number;
  /** The decoding in use: "cpu", or the device profile's hwaccel and/or forced decoder ("cuda", "h264_nvv4l2dec"). */
  decoder: string;
  /** Size of the stream the camera sends (0 until known). */
  inputWidth: number;
  inputHeight: number;
  framesDelivered: number;
  decodeErrors: number;
  /** Times the decoder was restarted after the first start: exits, stalls and failed attempts. */
  reconnects: number;
  /** Times the stall watchdog fired on a stream that had been delivering frames. */
  stalls: number;
  /** Milliseconds since the last delivered frame; null before the first one. */
  lastFrameAgeMs: number | null;
  /** The last failure, credentials scrubbed. */
  lastError: string | null;
}

export interface CameraSourceEvents {
  frame: [frame: Frame];
  health: [health: CameraHealth];
  /** The source hit an unexpected error and stopped itself; its owner decides whether to restart it. */
  failed: [error: TpError];
}

/**
 * A camera: decodes a stream into frames at a bounded rate and keeps itself running (reconnects, stall
 * watchdog). `start()` returns once the first attempt is under way; it throws only when the source cannot
 * run at all (for example its secret cannot be read), which the supervisor treats as a crash.
 */
export interface CameraSource extends EventEmitter<CameraSourceEvents> {
  readonly id: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  counters(): CameraCounters;
}
