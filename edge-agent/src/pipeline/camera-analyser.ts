import type { Face, FaceQuality, ModelPack, QualityLimits, RgbImage } from '@truepresence/model-pack';
import { rgbFrame } from '@truepresence/model-pack';
import type { Frame } from '../camera/types.ts';
import { BestShots } from './best-shots.ts';
import type { CameraPipelineConfig, PipelineConfig } from './config.ts';
import { detectFaces } from './detection.ts';
import { type Direction, directionOf } from './direction.ts';
import { type MeasuredFace, measureFace } from './face-measure.ts';
import type { PersonMatch } from './fusion.ts';
import type { GateVerdict } from './quality-gate.ts';
import { type LivenessSample, trackLiveness } from './track-liveness.ts';
import { type Track, Tracker } from './tracker.ts';

/** The pipeline's stages, timed per analysed frame (detect, gate) or per face (liveness, embed). */
export type Stage = 'detect' | 'gate' | 'liveness' | 'embed' | 'match';

/** A face of the latest analysed frame, as the installer view draws it. */
export interface FaceView {
  trackId: number;
  box: Face['box'];
  score: number;
  quality: FaceQuality;
  verdict: GateVerdict;
}

/** A gated face kept among its track's best shots. */
export interface Shot {
  score: number;
  embedding: Float32Array;
  /** The gallery's answer, fetched once when the track is first considered for a decision. */
  matches?: readonly PersonMatch[];
}

/** What a track has gathered until its decision. */
export interface TrackEvidence {
  cameraId: string;
  trackId: number;
  shots: BestShots<Shot>;
  liveness: LivenessSample[];
  /** Frame time at which the face first passed the gate; null until it does. */
  firstGateAt: number | null;
  decided: boolean;
  direction: Direction | null;
  /** The face's latest quality and verdict (a decided track's faces are measured only while watched). */
  measure: Pick<MeasuredFace, 'quality' | 'verdict'> | null;
}

/**
 * A track that may be decided now, with why. `early` (enough shots for a decision, before the budget) is
 * decided only when its evidence is already conclusive; `shots` (the best shots are all there) and
 * `budget` may still wait for liveness; `ended` and `waited` (liveness watched long enough) are final.
 */
export interface DueTrack {
  evidence: TrackEvidence;
  reason: 'early' | 'shots' | 'budget' | 'ended' | 'waited';
}

/** A face that passed the quality gate on this frame, with its track's evidence. */
type GatedFace = MeasuredFace & { evidence: TrackEvidence };

export interface CameraSettings {
  cameraId: string;
  entrance: string;
  limits: QualityLimits;
  config: CameraPipelineConfig;
}

/** Resolves a camera's pipeline settings: its own entry over the defaults, the pack's quality limits below. */
export function cameraSettings(
  config: PipelineConfig,
  cameraId: string,
  packLimits: QualityLimits,
): CameraSettings {
  const own = config.cameras[cameraId] ?? { direction: { type: 'none' }, quality: {}, regions: [] };
  const limits: QualityLimits = { ...packLimits };
  for (const [key, value] of Object.entries(own.quality) as Array<
    [keyof QualityLimits, number | undefined]
  >) {
    if (value !== undefined) limits[key] = value;
  }
  return { cameraId, entrance: own.entrance ?? cameraId, limits, config: own };
}

export type StageTimer = (stage: Stage, ms: number) => void;

/** How long after the installer view was last read the faces of decided tracks are still measured. */
const watchWindowMs = 10_000;

/**
 * One camera's part of the pipeline: detection on the analysed frame, tracking, the quality gate, and for
 * gated faces of undecided tracks liveness and embedding into the track's best shots. It says which tracks
 * are due for a decision; the pipeline decides them.
 */
export class CameraAnalyser {
  private readonly tracker: Tracker;
  private readonly evidence = new Map<number, TrackEvidence>();
  private latest: { frame: Frame; faces: FaceView[] } | null = null;
  /** Wall time the installer view was last read. */
  private watchedAt = Number.NEGATIVE_INFINITY;
  private frameSize = { width: 1, height: 1 };
  private framesSeen = 0;

  constructor(
    readonly settings: CameraSettings,
    private readonly config: PipelineConfig,
    private readonly pack: ModelPack,
    private readonly time: StageTimer,
  ) {
    this.tracker = new Tracker(config.tracker);
  }

  /**
   * The latest analysed frame and its faces, for the installer view. While it is read, the faces of decided
   * tracks are measured on every frame too, so the person aiming the camera sees current values.
   */
  watch(): { frame: Frame; faces: readonly FaceView[] } | null {
    this.watchedAt = Date.now();
    return this.latest;
  }

  get faceCount(): number {
    return this.latest?.faces.length ?? 0;
  }

  get activeTracks(): number {
    return this.tracker.active.length;
  }

  async analyse(frame: Frame): Promise<DueTrack[]> {
    const image = rgbFrame(frame.data, frame.width, frame.height);
    const at = frame.capturedAt;
    this.frameSize = { width: frame.width, height: frame.height };

    let t = performance.now();
    const detection = this.config.detection;
    const faces = await detectFaces(
      this.pack,
      image,
      { ...detection, regions: this.settings.config.regions },
      {
        tiles: this.framesSeen++ % detection.tileEvery === 0,
        tracked: this.tracker.active.map((track) => this.tracker.predict(track, at)),
      },
    );

    const { trackIds, ended } = this.tracker.update(
      faces.map((f) => f.box),
      at,
    );

    // Nothing more is wanted from a decided track's face: unless someone watches, it is not located
    // (landmarks) or measured again.
    const watched = Date.now() - this.watchedAt < watchWindowMs;
    const toLocate = faces.map((face, i) => {
      const evidence = this.evidenceOf(trackIds[i]!);
      return evidence.decided && !watched && evidence.measure ? null : face;
    });
    const located = await Promise.all(toLocate.map((face) => face && this.pack.locate(image, face)));
    this.time('detect', performance.now() - t);

    t = performance.now();
    const views: FaceView[] = [];
    const gated: GatedFace[] = [];
    faces.forEach((candidate, i) => {
      const trackId = trackIds[i]!;
      const evidence = this.evidenceOf(trackId);
      const face = located[i];
      if (!face) {
        const { quality, verdict } = evidence.measure!;
        views.push({ trackId, box: candidate.box, score: candidate.score, quality, verdict });
        return;
      }
      const m = measureFace(this.pack, image, face, this.settings.limits);
      evidence.measure = { quality: m.quality, verdict: m.verdict };
      views.push({ trackId, box: face.box, score: face.score, quality: m.quality, verdict: m.verdict });
      if (m.verdict.pass && !evidence.decided) {
        evidence.firstGateAt ??= at;
        gated.push({ ...m, evidence });
      }
    });
    this.time('gate', performance.now() - t);
    this.latest = { frame, faces: views };

    // Liveness and embedding run on their own model threads, side by side.
    await Promise.all([this.scoreLiveness(image, gated), this.embedShots(gated)]);

    const { bestShots, minShots, budgetMs, liveness } = this.config.decision;
    const due = ended.flatMap((track) => this.end(track));
    for (const evidence of this.evidence.values()) {
      if (evidence.decided || evidence.firstGateAt === null || evidence.shots.size < minShots) continue;
      const elapsed = at - evidence.firstGateAt;
      let reason: DueTrack['reason'];
      if (elapsed >= liveness.maxWaitMs) reason = 'waited';
      else if (evidence.shots.size >= bestShots) reason = 'shots';
      else if (elapsed >= budgetMs) reason = 'budget';
      else reason = 'early';
      const track = this.tracker.get(evidence.trackId);
      if (track) evidence.direction = this.directionOf(track);
      due.push({ evidence, reason });
    }
    return due;
  }

  /** Adds a liveness sample to each gated face's track that is not live yet (more samples cannot change a live one). */
  private async scoreLiveness(image: RgbImage, gated: readonly GatedFace[]): Promise<void> {
    const unsure = gated.filter(
      (g) => trackLiveness(g.evidence.liveness, this.config.decision.liveness, false).verdict !== 'live',
    );
    if (unsure.length === 0) return;
    const t = performance.now();
    const live = await this.pack.livenessMany(
      image,
      unsure.map((g) => g.face),
    );
    this.time('liveness', (performance.now() - t) / unsure.length);
    unsure.forEach((g, i) => {
      g.evidence.liveness.push({ live: live[i]!, yawDeg: g.quality.yawDeg, pitchDeg: g.quality.pitchDeg });
    });
  }

  /** Embeds the gated faces that would be among their track's best shots, and keeps them. */
  private async embedShots(gated: readonly GatedFace[]): Promise<void> {
    const wanted = gated.filter((g) => g.evidence.shots.wouldKeep(g.verdict.score));
    if (wanted.length === 0) return;
    const t = performance.now();
    const embeddings = await this.pack.embedMany(wanted.map((g) => g.aligned));
    this.time('embed', (performance.now() - t) / wanted.length);
    wanted.forEach((g, i) => {
      g.evidence.shots.add({ score: g.verdict.score, embedding: embeddings[i]! });
    });
  }

  /** Ends every track (camera idle, or the pipeline stopping); returns those still to decide. */
  endAll(): DueTrack[] {
    return this.tracker.expire(Number.POSITIVE_INFINITY).flatMap((track) => this.end(track));
  }

  private end(track: Track): DueTrack[] {
    const evidence = this.evidence.get(track.id);
    this.evidence.delete(track.id);
    if (!evidence || evidence.decided || evidence.shots.size < this.config.decision.minShots) return [];
    evidence.direction = this.directionOf(track);
    return [{ evidence, reason: 'ended' }];
  }

  private evidenceOf(trackId: number): TrackEvidence {
    let evidence = this.evidence.get(trackId);
    if (!evidence) {
      evidence = {
        cameraId: this.settings.cameraId,
        trackId,
        shots: new BestShots<Shot>(this.config.decision.bestShots),
        liveness: [],
        firstGateAt: null,
        decided: false,
        direction: null,
        measure: null,
      };
      this.evidence.set(trackId, evidence);
    }
    return evidence;
  }

  private directionOf(track: Track): Direction | null {
    const { width, height } = this.frameSize;
    const path = track.path.map((p) => ({ x: p.x / width, y: p.y / height, at: p.at }));
    return directionOf(this.settings.config.direction, path);
  }
}
