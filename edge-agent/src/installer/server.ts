import type { Logger } from '@truepresence/protocol';
import Fastify, { type FastifyInstance } from 'fastify';
import type { CameraStats } from '../camera/supervisor.ts';
import { AgentErrorCode } from '../errors.ts';
import type { VisionPipeline } from '../pipeline/vision-pipeline.ts';
import type { InstallerConfig } from './config.ts';
import { renderFrameJpeg } from './overlay.ts';
import { installerPage } from './page.ts';

export interface InstallerDeps {
  /** Source and analysis figures of every camera (the camera supervisor's `stats`). */
  cameraStats: () => readonly CameraStats[];
  pipeline: Pick<VisionPipeline, 'view' | 'stats' | 'settings'>;
  logger: Logger;
}

/** What the installer JSON says about one camera. */
export interface CameraReport {
  id: string;
  state: CameraStats['state'];
  inputFps: number;
  analysedFps: number;
  droppedFrames: number;
  decodeErrors: number;
  lastFrameAgeMs: number | null;
  reconnects: number;
  restarts: number;
  lastError: string | null;
  framesDelivered: number;
  framesAnalysed: number;
  /** Faces on the latest analysed frame with their measures and the gate's verdict. */
  faces: Array<{
    trackId: number;
    box: { x: number; y: number; width: number; height: number };
    interEyePx: number;
    sharpness: number;
    brightness: number;
    yawDeg: number;
    pitchDeg: number;
    pass: boolean;
    issues: string[];
  }>;
  /** The quality limits this camera's gate applies. */
  limits: Record<string, number> | null;
  decisions: Record<string, number>;
  duplicatesSuppressed: number;
}

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

function report(deps: InstallerDeps, camera: CameraStats): CameraReport {
  const view = deps.pipeline.view(camera.cameraId);
  const pipeline = deps.pipeline.stats().cameras.find((c) => c.cameraId === camera.cameraId);
  return {
    id: camera.cameraId,
    state: camera.state,
    inputFps: round(camera.inputFps),
    analysedFps: round(camera.analysedFps),
    droppedFrames: camera.framesDropped,
    decodeErrors: camera.decodeErrors,
    lastFrameAgeMs: camera.lastFrameAgeMs,
    reconnects: camera.reconnects,
    restarts: camera.restarts,
    lastError: camera.lastError ?? camera.lastFailure,
    framesDelivered: camera.framesDelivered,
    framesAnalysed: camera.framesAnalysed,
    faces: (view?.faces ?? []).map((face) => ({
      trackId: face.trackId,
      box: {
        x: round(face.box.x),
        y: round(face.box.y),
        width: round(face.box.width),
        height: round(face.box.height),
      },
      interEyePx: round(face.quality.interEyePx),
      sharpness: round(face.quality.sharpness),
      brightness: round(face.quality.brightness),
      yawDeg: round(face.quality.yawDeg),
      pitchDeg: round(face.quality.pitchDeg),
      pass: face.verdict.pass,
      issues: face.verdict.issues,
    })),
    limits: deps.pipeline.settings(camera.cameraId)?.limits ?? null,
    decisions: pipeline?.decisions ?? {},
    duplicatesSuppressed: pipeline?.duplicatesSuppressed ?? 0,
  };
}

/** The installer view as a fastify app (not listening): the page, JSON per camera and annotated frames. */
export function buildInstaller(config: InstallerConfig, deps: InstallerDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  const find = (id: string) => deps.cameraStats().find((c) => c.cameraId === id);
  const unknown = (id: string) => ({
    code: AgentErrorCode.installerCameraUnknown,
    message: `no camera with id "${id}" on this agent`,
  });

  app.get('/', async (_request, reply) => {
    reply.type('text/html; charset=utf-8');
    return installerPage(config.refreshMs);
  });

  app.get('/api/cameras', async () => ({
    cameras: deps.cameraStats().map((camera) => report(deps, camera)),
    decisionLatencyMs: deps.pipeline.stats().decisionLatencyMs,
  }));

  app.get<{ Params: { id: string } }>('/api/cameras/:id', async (request, reply) => {
    const camera = find(request.params.id);
    if (!camera) return reply.code(404).send(unknown(request.params.id));
    return report(deps, camera);
  });

  app.get<{ Params: { id: string } }>('/cameras/:id/frame.jpg', async (request, reply) => {
    const id = request.params.id;
    if (!find(id)) return reply.code(404).send(unknown(id));
    const view = deps.pipeline.view(id);
    if (!view) {
      return reply.code(404).send({
        code: AgentErrorCode.installerNoFrame,
        message: `camera "${id}" has no analysed frame yet; see /api/cameras/${id} for its state`,
      });
    }
    const age = ((Date.now() - view.frame.capturedAt) / 1000).toFixed(1);
    const passing = view.faces.filter((f) => f.verdict.pass).length;
    const caption = `${id} · ${view.frame.width}x${view.frame.height} · ${view.faces.length} face(s), ${passing} usable · ${age} s ago`;
    const jpeg = await renderFrameJpeg(view.frame, view.faces, caption, config.jpegQuality);
    reply.type('image/jpeg').header('cache-control', 'no-store');
    return jpeg;
  });

  return app;
}

/** Serves the installer view on the configured address (localhost by default). */
export class InstallerServer {
  private app: FastifyInstance | null = null;
  private address: { host: string; port: number } | null = null;

  constructor(
    private readonly config: InstallerConfig,
    private readonly deps: InstallerDeps,
  ) {}

  /** Where it listens, once started. */
  get url(): string | null {
    if (!this.address) return null;
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  async start(): Promise<void> {
    if (this.app || !this.config.enabled) return;
    const app = buildInstaller(this.config, this.deps);
    await app.listen({ host: this.config.host, port: this.config.port });
    const bound = app.server.address();
    const port = typeof bound === 'object' && bound ? bound.port : this.config.port;
    this.app = app;
    this.address = { host: this.config.host, port };
    this.deps.logger.child({ component: 'installer' }).info({ url: this.url }, 'installer view listening');
  }

  async stop(): Promise<void> {
    const app = this.app;
    this.app = null;
    this.address = null;
    await app?.close();
  }
}
