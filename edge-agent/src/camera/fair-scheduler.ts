import type { Logger } from '@truepresence/protocol';
import { AgentErrorCode } from '../errors.ts';
import { LatestFrameSlot } from './latest-frame-slot.ts';
import type { Frame } from './types.ts';

/** The analysis of one frame (detect, track, ...); the scheduler runs one at a time. */
export type AnalyseFrame = (cameraId: string, frame: Frame) => Promise<void>;

export interface AnalysisStats {
  framesAnalysed: number;
  /** Frames replaced in the camera's slot before analysis could take them. */
  framesDropped: number;
  analysisErrors: number;
  /** Analysed frames per second over the last few frames; 0 before two of them. */
  analysedFps: number;
}

const fpsWindow = 10;
const errorLogIntervalMs = 10_000;

interface Lane {
  cameraId: string;
  slot: LatestFrameSlot<Frame>;
  analysed: number;
  errors: number;
  finishedAt: number[];
  errorLoggedAt: number;
  errorsNotLogged: number;
}

/**
 * Shares one analysis worker between cameras. Each camera has a latest-frame-wins slot; the worker serves
 * cameras with a waiting frame in round-robin order, so a fast camera cannot starve a slow one and a slow
 * analysis drops frames instead of queueing them. A failed analysis is counted and logged; the loop goes on.
 */
export class FairScheduler {
  private readonly lanes: Lane[] = [];
  private cursor = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly log: Logger;

  constructor(
    private readonly analyse: AnalyseFrame,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'frame-scheduler' });
  }

  addCamera(cameraId: string): void {
    if (this.lanes.some((l) => l.cameraId === cameraId)) return;
    this.lanes.push({
      cameraId,
      slot: new LatestFrameSlot<Frame>(),
      analysed: 0,
      errors: 0,
      finishedAt: [],
      errorLoggedAt: 0,
      errorsNotLogged: 0,
    });
  }

  /** Hands a frame to analysis; replaces (drops) the camera's previous frame if it is still waiting. */
  offer(cameraId: string, frame: Frame): void {
    const lane = this.lanes.find((l) => l.cameraId === cameraId);
    if (!lane) return;
    lane.slot.put(frame);
    this.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops taking frames; resolves once the analysis in progress, if any, has finished. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    this.loop = null;
  }

  stats(cameraId: string): AnalysisStats | undefined {
    const lane = this.lanes.find((l) => l.cameraId === cameraId);
    if (!lane) return undefined;
    const times = lane.finishedAt;
    const span = times.length >= 2 ? times[times.length - 1]! - times[0]! : 0;
    return {
      framesAnalysed: lane.analysed,
      framesDropped: lane.slot.counts.dropped,
      analysisErrors: lane.errors,
      analysedFps: span > 0 ? ((times.length - 1) * 1000) / span : 0,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      const lane = this.next();
      if (!lane) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
        continue;
      }
      const frame = lane.slot.take()!;
      try {
        await this.analyse(lane.cameraId, frame);
        lane.analysed += 1;
      } catch (error) {
        lane.errors += 1;
        this.logError(lane, error);
      }
      lane.finishedAt.push(Date.now());
      if (lane.finishedAt.length > fpsWindow) lane.finishedAt.shift();
    }
  }

  /** The first camera with a waiting frame, starting after the one served last. */
  private next(): Lane | undefined {
    const count = this.lanes.length;
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count;
      const lane = this.lanes[index]!;
      if (lane.slot.ready) {
        this.cursor = (index + 1) % count;
        return lane;
      }
    }
    return undefined;
  }

  private logError(lane: Lane, error: unknown): void {
    const now = Date.now();
    if (now - lane.errorLoggedAt < errorLogIntervalMs) {
      lane.errorsNotLogged += 1;
      return;
    }
    this.log.warn(
      {
        code: AgentErrorCode.cameraAnalysisFailed,
        camera: lane.cameraId,
        err: error,
        since: lane.errorsNotLogged,
      },
      'frame analysis failed; frame skipped',
    );
    lane.errorLoggedAt = now;
    lane.errorsNotLogged = 0;
  }
}
