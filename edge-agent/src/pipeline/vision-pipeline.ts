import type { ModelPack } from '@truepresence/model-pack';
import type { Logger } from '@truepresence/protocol';
import type { AnalyseFrame } from '../camera/fair-scheduler.ts';
import type { Frame } from '../camera/types.ts';
import { AgentErrorCode } from '../errors.ts';
import {
  CameraAnalyser,
  type CameraSettings,
  cameraSettings,
  type DueTrack,
  type FaceView,
  type Stage,
} from './camera-analyser.ts';
import type { PipelineConfig } from './config.ts';
import { RecentAttendance } from './dedup.ts';
import { fuseMatches, identify } from './fusion.ts';
import { LatencyStats, type LatencySummary } from './latency-stats.ts';
import { trackLiveness } from './track-liveness.ts';
import type { Decision, DecisionSink, Gallery } from './types.ts';

export interface VisionPipelineDeps {
  pack: ModelPack;
  gallery: Gallery;
  sink: DecisionSink;
  logger: Logger;
}

export interface PipelineCameraStats {
  cameraId: string;
  framesAnalysed: number;
  /** Faces on the latest analysed frame. */
  faces: number;
  activeTracks: number;
  decisions: Record<Decision['kind'], number>;
  /** Attendances not sent because the person was already counted at this entrance within the interval. */
  duplicatesSuppressed: number;
  /** Decisions the sink refused (they are logged with TP_AGENT_PIPELINE_DECISION_LOST). */
  decisionsLost: number;
}

export interface PipelineStats {
  /** Per frame for detect and gate; per face for liveness, embed and match. */
  stagesMs: Record<Stage, LatencySummary>;
  /** Wall time from the frame on which a track's face first passed the gate to its decision being stored. */
  decisionLatencyMs: LatencySummary;
  /** The same per kind: a spoof is only decided when its track ends (or has been watched long enough). */
  decisionLatencyByKindMs: Record<Decision['kind'], LatencySummary>;
  cameras: PipelineCameraStats[];
}

interface CameraLane {
  analyser: CameraAnalyser;
  /** Analysis and flushes of one camera run one after the other. */
  queue: Promise<void>;
  /** Wall time of the last frame handed in. */
  lastSeen: number;
  stats: PipelineCameraStats;
}

const iso = (ms: number) => new Date(ms).toISOString();
const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * From frames to one decision per person: per camera, detection, tracking, quality gate, liveness and
 * embedding of the best shots (CameraAnalyser); here, the decision of each due track against the gallery
 * and duplicate suppression per entrance, handed to the decision sink. `analyse` is what the camera
 * supervisor's fair scheduler calls, one frame at a time across cameras.
 */
export class VisionPipeline {
  private readonly lanes = new Map<string, CameraLane>();
  private readonly stages = new Map<Stage, LatencyStats>();
  private readonly decisionLatency = new LatencyStats();
  private readonly decisionLatencyByKind = {
    attendance: new LatencyStats(),
    unknown: new LatencyStats(),
    spoof: new LatencyStats(),
  };
  private readonly recent: RecentAttendance;
  private readonly log: Logger;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: PipelineConfig,
    cameraIds: readonly string[],
    private readonly deps: VisionPipelineDeps,
  ) {
    this.log = deps.logger.child({ component: 'pipeline' });
    this.recent = new RecentAttendance(config.decision.dedupIntervalMs);
    for (const stage of ['detect', 'gate', 'liveness', 'embed', 'match'] as const) {
      this.stages.set(stage, new LatencyStats());
    }
    for (const cameraId of cameraIds) {
      const settings = cameraSettings(config, cameraId, deps.pack.qualityLimits);
      this.lanes.set(cameraId, {
        analyser: new CameraAnalyser(settings, config, deps.pack, (stage, ms) =>
          this.stages.get(stage)!.add(ms),
        ),
        queue: Promise.resolve(),
        lastSeen: 0,
        stats: {
          cameraId,
          framesAnalysed: 0,
          faces: 0,
          activeTracks: 0,
          decisions: { attendance: 0, unknown: 0, spoof: 0 },
          duplicatesSuppressed: 0,
          decisionsLost: 0,
        },
      });
    }
  }

  /** Analyses one frame of a camera (the camera supervisor's analysis callback). */
  readonly analyse: AnalyseFrame = (cameraId: string, frame: Frame) => {
    const lane = this.lanes.get(cameraId);
    if (!lane) return Promise.resolve();
    lane.lastSeen = Date.now();
    return this.serial(lane, async () => {
      const due = await lane.analyser.analyse(frame);
      lane.stats.framesAnalysed += 1;
      await this.decideAll(lane, due);
    });
  };

  /** Starts the idle watch: tracks of a camera that sends no frames end and are decided. */
  start(): void {
    if (this.idleTimer) return;
    const timeout = this.config.tracker.idleTimeoutMs;
    this.idleTimer = setInterval(
      () => {
        const now = Date.now();
        for (const lane of this.lanes.values()) {
          if (lane.analyser.activeTracks > 0 && now - lane.lastSeen >= timeout) {
            this.serial(lane, () => this.decideAll(lane, lane.analyser.endAll())).catch((error: unknown) =>
              this.log.error({ err: error, camera: lane.analyser.settings.cameraId }, 'idle flush failed'),
            );
          }
        }
      },
      Math.max(50, timeout / 4),
    );
    this.idleTimer.unref();
  }

  /** Ends every track and decides those with enough evidence; call after the cameras have stopped. */
  async stop(): Promise<void> {
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.idleTimer = null;
    await Promise.all(
      [...this.lanes.values()].map((lane) =>
        this.serial(lane, () => this.decideAll(lane, lane.analyser.endAll())),
      ),
    );
  }

  /** The latest analysed frame of a camera and its faces; undefined for an unknown camera. */
  view(cameraId: string): { frame: Frame; faces: readonly FaceView[] } | null | undefined {
    return this.lanes.get(cameraId)?.analyser.watch();
  }

  settings(cameraId: string): CameraSettings | undefined {
    return this.lanes.get(cameraId)?.analyser.settings;
  }

  stats(): PipelineStats {
    const stagesMs = {} as Record<Stage, LatencySummary>;
    for (const [stage, stats] of this.stages) stagesMs[stage] = stats.summary();
    return {
      stagesMs,
      decisionLatencyMs: this.decisionLatency.summary(),
      decisionLatencyByKindMs: {
        attendance: this.decisionLatencyByKind.attendance.summary(),
        unknown: this.decisionLatencyByKind.unknown.summary(),
        spoof: this.decisionLatencyByKind.spoof.summary(),
      },
      cameras: [...this.lanes.values()].map((lane) => ({
        ...lane.stats,
        decisions: { ...lane.stats.decisions },
        faces: lane.analyser.faceCount,
        activeTracks: lane.analyser.activeTracks,
      })),
    };
  }

  private serial(lane: CameraLane, job: () => Promise<void>): Promise<void> {
    const next = lane.queue.then(job);
    lane.queue = next.catch(() => undefined);
    return next;
  }

  private async decideAll(lane: CameraLane, due: readonly DueTrack[]): Promise<void> {
    for (const track of due) if (!track.evidence.decided) await this.decide(lane, track);
  }

  /**
   * Decides a due track: its identity from the best shots against the gallery, then its liveness. A
   * recognised, live track is decided as soon as it has `minShots`; anything else waits for the best shots
   * or the budget; a recognised face whose track does not look live yet waits (it comes back with the next
   * frame) until it does, or until the final verdict (track ended, or watched for `liveness.maxWaitMs`).
   */
  private async decide(lane: CameraLane, { evidence, reason }: DueTrack): Promise<void> {
    const { pack, gallery } = this.deps;
    const settings = lane.analyser.settings;
    const decision = this.config.decision;
    const shots = evidence.shots.list;
    const firstGateAt = evidence.firstGateAt!;
    const final = reason === 'ended' || reason === 'waited';

    const started = performance.now();
    let searched = 0;
    for (const shot of shots) {
      if (shot.matches) continue;
      shot.matches = await gallery.searchPeople(shot.embedding, decision.searchK);
      searched += 1;
    }
    const fused = fuseMatches(shots.map((shot) => ({ weight: shot.score, matches: shot.matches ?? [] })));
    const identity = identify(fused, {
      threshold: decision.matchThreshold ?? pack.thresholds.match,
      margin: decision.matchMargin ?? pack.thresholds.matchMargin,
    });
    if (searched > 0) this.stages.get('match')!.add((performance.now() - started) / searched);

    const liveness = trackLiveness(evidence.liveness, decision.liveness, final);
    if (identity.personId && liveness.verdict === 'pending') return;
    // Before the budget, only a recognised, live track is decided: an unknown gets its full evidence.
    if (reason === 'early' && !(identity.personId && liveness.verdict === 'live')) return;
    evidence.decided = true;
    const kind: Decision['kind'] =
      liveness.verdict === 'spoof'
        ? 'spoof'
        : identity.personId && liveness.verdict === 'live'
          ? 'attendance'
          : 'unknown';
    const personId = kind === 'unknown' ? null : identity.personId;
    const context = {
      camera: settings.cameraId,
      track: evidence.trackId,
      kind,
      reason,
      liveness: liveness.verdict,
    };

    if (kind === 'attendance' && personId && !this.recent.admit(settings.entrance, personId, firstGateAt)) {
      lane.stats.duplicatesSuppressed += 1;
      this.log.info({ ...context, entrance: settings.entrance }, 'person already counted at this entrance');
      return;
    }
    const result: Decision = {
      camera: settings.cameraId,
      kind,
      personId,
      direction: evidence.direction,
      capturedAt: iso(firstGateAt),
      similarity: identity.similarity === null ? null : clamp(identity.similarity, -1, 1),
      margin: identity.margin === null ? null : clamp(identity.margin, -2, 2),
      liveness: clamp(liveness.score, 0, 1),
      quality: clamp(shots[0]?.score ?? 0, 0, 1),
      rosterSeq: gallery.appliedRosterSeq(),
      modelPack: pack.id,
    };
    try {
      await this.deps.sink.accept(result);
    } catch (error) {
      if (kind === 'attendance' && personId) this.recent.forget(settings.entrance, personId);
      lane.stats.decisionsLost += 1;
      this.log.error(
        { ...context, code: AgentErrorCode.pipelineDecisionLost, err: error },
        'decision not stored',
      );
      return;
    }
    lane.stats.decisions[kind] += 1;
    const decisionMs = Date.now() - firstGateAt;
    this.decisionLatency.add(decisionMs);
    this.decisionLatencyByKind[kind].add(decisionMs);
    this.log.info(
      {
        ...context,
        direction: result.direction,
        similarity: result.similarity,
        margin: result.margin,
        livenessScore: result.liveness,
        poseChangeDeg: liveness.poseChangeDeg,
        livenessSamples: evidence.liveness.map((sample) => Math.round(sample.live * 100) / 100),
        shots: shots.length,
        decisionMs,
      },
      'track decided',
    );
  }
}
