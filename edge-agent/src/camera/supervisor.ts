import { availableParallelism } from 'node:os';
import { isTpError, type Logger, scrubUrlCredentials, type TpError } from '@truepresence/protocol';
import { z } from 'zod';
import { AgentErrorCode } from '../errors.ts';
import { type AnalyseFrame, type AnalysisStats, FairScheduler } from './fair-scheduler.ts';
import type { CameraCounters, CameraSource, Frame } from './types.ts';

export const supervisorConfigSchema = z
  .strictObject({
    restartDelayMs: z
      .int()
      .min(0)
      .default(1000)
      .describe('Wait before restarting a camera source that failed (start threw or it crashed).'),
    maxRestarts: z
      .int()
      .min(1)
      .default(5)
      .describe('Most restarts of one camera within restartWindowMs; beyond, the next waits for the window.'),
    restartWindowMs: z.int().min(1000).default(60_000).describe('Window of the restart rate cap.'),
    analysisConcurrency: z
      .int()
      .min(1)
      .max(64)
      .default(() => 2 * availableParallelism())
      .describe(
        'Most frames (of different cameras) analysed at once. Each model runs on its own thread, so a frame spends most of its time waiting for one of them; twice the CPU cores (the default) keeps every core busy (on 2 cores: 4 cameras at 4.7 fps with 4 in flight, 4.4 fps with 2).',
      ),
  })
  .describe('Supervision of camera sources: a failed camera restarts alone, at a capped rate.');
export type SupervisorConfig = z.output<typeof supervisorConfigSchema>;

export interface CameraStats extends CameraCounters, AnalysisStats {
  cameraId: string;
  /** Restarts of the whole source by the supervisor (not reconnects of its stream). */
  restarts: number;
  /** The last failure that made the supervisor restart the source, credentials scrubbed. */
  lastFailure: string | null;
}

interface Supervised {
  source: CameraSource;
  restartTimes: number[];
  restarts: number;
  lastFailure: string | null;
  timer: NodeJS.Timeout | null;
  onFrame: (frame: Frame) => void;
  onFailed: (error: TpError) => void;
}

/**
 * Runs the cameras and the analysis they share. Frames go from each source into the fair
 * scheduler; a source that fails (its `start()` throws, or it reports `failed`) is restarted alone after
 * `restartDelayMs`, at most `maxRestarts` times per `restartWindowMs`, while the other cameras go on.
 */
export class CameraSupervisor {
  private readonly scheduler: FairScheduler;
  private readonly cameras: Supervised[];
  private readonly log: Logger;
  private running = false;

  constructor(
    sources: readonly CameraSource[],
    analyse: AnalyseFrame,
    private readonly config: SupervisorConfig,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'camera-supervisor' });
    this.scheduler = new FairScheduler(analyse, logger, config.analysisConcurrency);
    this.cameras = sources.map((source) => {
      const camera: Supervised = {
        source,
        restartTimes: [],
        restarts: 0,
        lastFailure: null,
        timer: null,
        onFrame: (frame) => this.scheduler.offer(source.id, frame),
        onFailed: (error) => this.onFailure(camera, error),
      };
      return camera;
    });
  }

  /** Starts the analysis and every camera; a camera that fails to start does not fail this. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.scheduler.start();
    for (const camera of this.cameras) {
      this.scheduler.addCamera(camera.source.id);
      camera.source.on('frame', camera.onFrame);
      camera.source.on('failed', camera.onFailed);
    }
    await Promise.all(this.cameras.map((camera) => this.startSource(camera)));
  }

  /** Stops every camera, then the analysis once its frames in progress are done. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const camera of this.cameras) {
      if (camera.timer) clearTimeout(camera.timer);
      camera.timer = null;
      camera.source.off('frame', camera.onFrame);
      camera.source.off('failed', camera.onFailed);
    }
    await Promise.all(this.cameras.map((camera) => camera.source.stop()));
    await this.scheduler.stop();
  }

  stats(): CameraStats[] {
    return this.cameras.map((camera) => {
      const analysis = this.scheduler.stats(camera.source.id) ?? {
        framesAnalysed: 0,
        framesDropped: 0,
        analysisErrors: 0,
        analysedFps: 0,
      };
      return {
        cameraId: camera.source.id,
        ...camera.source.counters(),
        ...analysis,
        restarts: camera.restarts,
        lastFailure: camera.lastFailure,
      };
    });
  }

  private async startSource(camera: Supervised): Promise<void> {
    try {
      await camera.source.start();
    } catch (error) {
      this.onFailure(camera, error);
    }
  }

  private onFailure(camera: Supervised, error: unknown): void {
    const code = isTpError(error) ? error.code : AgentErrorCode.cameraCrashed;
    const detail = scrubUrlCredentials(error instanceof Error ? error.message : String(error));
    camera.lastFailure = `${code}: ${detail}`;
    if (!this.running || camera.timer) return;
    const now = Date.now();
    camera.restartTimes = camera.restartTimes.filter((t) => now - t < this.config.restartWindowMs);
    let delay = this.config.restartDelayMs;
    if (camera.restartTimes.length >= this.config.maxRestarts) {
      delay = Math.max(delay, camera.restartTimes[0]! + this.config.restartWindowMs - now);
      this.log.error(
        { code: AgentErrorCode.cameraRestartCapped, camera: camera.source.id, detail, retryInMs: delay },
        'camera keeps failing; restart rate cap reached',
      );
    } else {
      this.log.error(
        { code, camera: camera.source.id, detail, retryInMs: delay },
        'camera failed; restarting it',
      );
    }
    camera.timer = setTimeout(() => {
      camera.timer = null;
      camera.restartTimes.push(Date.now());
      camera.restarts += 1;
      this.restart(camera).catch((error: unknown) => this.onFailure(camera, error));
    }, delay);
  }

  private async restart(camera: Supervised): Promise<void> {
    await camera.source.stop();
    if (this.running) await this.startSource(camera);
  }
}
