import type { Logger } from '@truepresence/protocol';
import { AgentErrorCode } from '../errors.ts';
import { LatestFrameSlot } from './latest-frame-slot.ts';
import type { Frame } from './types.ts';

/**
 * The analysis of one frame (detect, track, ...). The scheduler never runs two frames of one camera at
 * once; frames of different cameras may be in flight together, up to its concurrency.
 */
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
  /** A frame of this camera is being analysed. */
  busy: boolean;
  analysed: number;
  errors: number;
  finishedAt: number[];
  errorLoggedAt: number;
  errorsNotLogged: number;
}

/**
 * Shares the analysis between cameras. Each camera has a latest-frame-wins slot; up to `concurrency`
 * frames of different cameras are analysed at once (inference runs off the main thread, so a second frame
 * in flight overlaps its JavaScript with the first one's inference), never two of the same camera. Cameras
 * with a waiting frame are served in round-robin order, so a fast camera cannot starve a slow one, and a
 * slow analysis drops frames instead of queueing them. A failed analysis is counted and logged; the
 * others go on.
 */
export class FairScheduler {
  private readonly lanes: Lane[] = [];
  private cursor = 0;
  private running = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log: Logger;

  constructor(
    private readonly analyse: AnalyseFrame,
    logger: Logger,
    private readonly concurrency: number,
  ) {
    this.log = logger.child({ component: 'frame-scheduler' });
  }

  addCamera(cameraId: string): void {
    if (this.lanes.some((l) => l.cameraId === cameraId)) return;
    this.lanes.push({
      cameraId,
      slot: new LatestFrameSlot<Frame>(),
      busy: false,
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
    this.dispatch();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.dispatch();
  }

  /** Stops taking frames; resolves once the analyses in progress, if any, have finished. */
  async stop(): Promise<void> {
    this.running = false;
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
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

  /** Starts analyses while there is room and a camera with a waiting frame. */
  private dispatch(): void {
    while (this.running && this.inFlight.size < this.concurrency) {
      const lane = this.next();
      if (!lane) return;
      const job = this.serve(lane, lane.slot.take()!);
      this.inFlight.add(job);
      void job.then(() => {
        this.inFlight.delete(job);
        this.dispatch();
      });
    }
  }

  private async serve(lane: Lane, frame: Frame): Promise<void> {
    lane.busy = true;
    try {
      // Not inside the caller's stack: `offer` comes from a camera's frame event.
      await Promise.resolve();
      await this.analyse(lane.cameraId, frame);
      lane.analysed += 1;
    } catch (error) {
      lane.errors += 1;
      this.logError(lane, error);
    }
    lane.busy = false;
    lane.finishedAt.push(Date.now());
    if (lane.finishedAt.length > fpsWindow) lane.finishedAt.shift();
  }

  /** The first idle camera with a waiting frame, starting after the one served last. */
  private next(): Lane | undefined {
    const count = this.lanes.length;
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count;
      const lane = this.lanes[index]!;
      if (lane.slot.ready && !lane.busy) {
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
