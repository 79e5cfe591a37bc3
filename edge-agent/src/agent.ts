// The agent controller: builds the parts from the parsed config, starts them in order, stops them in
// reverse, and contains a part that fails. SIGTERM (via main) drains the pipeline into the outbox and gives
// the hub a bounded time to ack what is pending. systemd's watchdog is fed only while the agent is healthy.
import { existsSync } from 'node:fs';
import { loadModelPack, type ModelPack } from '@truepresence/model-pack';
import {
  type CameraHealth,
  type DeviceProbes,
  isTpError,
  type Logger,
  parseKey32,
  privateKeyFromPem,
  probeDevice,
  publicKeyFromBase64,
  readSecret,
  resolveDeviceProfile,
  type SecretEnvironment,
} from '@truepresence/protocol';
import { VectorCache } from './cache/vector-cache.ts';
import { createCameraSource } from './camera/sources.ts';
import { type CameraStats, CameraSupervisor } from './camera/supervisor.ts';
import type { AgentConfig } from './config.ts';
import { AgentErrorCode } from './errors.ts';
import { InstallerServer } from './installer/server.ts';
import { Outbox } from './outbox/outbox.ts';
import { VisionPipeline } from './pipeline/vision-pipeline.ts';
import type { SdNotifier } from './sd-notify.ts';
import { cacheModelPack, storageKey } from './storage-keys.ts';
import { AgentLink } from './sync/agent-link.ts';

export interface AgentDeps {
  logger: Logger;
  secrets: SecretEnvironment;
  notifier: SdNotifier;
  agentVersion: string;
  /** Hardware probes for `profile: "auto"`; the real machine's by default. */
  probes?: () => DeviceProbes;
}

/** One long-lived part. A part that is not `essential` may fail to start: it is logged and left out. */
interface Part {
  name: string;
  essential: boolean;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

const healthState: Record<CameraStats['state'], CameraHealth['state']> = {
  idle: 'starting',
  connecting: 'starting',
  streaming: 'ok',
  backoff: 'reconnecting',
  ended: 'failed',
  stopped: 'failed',
};

function cameraHealth(stats: CameraStats): CameraHealth {
  return {
    id: stats.cameraId,
    state: stats.stalls > 0 && stats.state === 'backoff' ? 'stalled' : healthState[stats.state],
    inputFps: stats.inputFps,
    analysedFps: stats.analysedFps,
    droppedFrames: stats.framesDropped,
    decodeErrors: stats.decodeErrors,
    reconnects: stats.reconnects,
    lastFrameAgeMs: stats.lastFrameAgeMs,
  };
}

export class Agent {
  private readonly log: Logger;
  private readonly started: Part[] = [];
  private cache: VectorCache | null = null;
  private outbox: Outbox | null = null;
  private pack: ModelPack | null = null;
  private pipeline: VisionPipeline | null = null;
  private link: AgentLink | null = null;
  private supervisor: CameraSupervisor | null = null;
  private installer: InstallerServer | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private state: 'idle' | 'starting' | 'running' | 'stopping' | 'stopped' = 'idle';

  constructor(
    private readonly config: AgentConfig,
    private readonly deps: AgentDeps,
  ) {
    this.log = deps.logger.child({ component: 'agent' });
  }

  /** The installer view's address once started (null when disabled or not started). */
  get installerUrl(): string | null {
    return this.installer?.url ?? null;
  }

  /**
   * Starts every part in order. An essential part that fails stops those already started (in reverse)
   * and rejects with its error; the installer view may fail alone.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'starting';
    for (const part of this.parts()) {
      if (this.state !== 'starting') break;
      try {
        await part.start();
        this.started.push(part);
      } catch (error) {
        if (part.essential) {
          this.log.fatal(
            { part: part.name, code: codeOf(error), err: error },
            `${part.name} could not start`,
          );
          await this.stopParts();
          this.state = 'stopped';
          throw error;
        }
        this.log.error(
          { part: part.name, code: codeOf(error), err: error },
          `${part.name} failed; going on without it`,
        );
      }
    }
    if (this.state !== 'starting') return;
    this.state = 'running';
    this.log.info(
      { cameras: this.config.cameras.map((c) => c.id), installer: this.installerUrl },
      'agent running',
    );
    await this.deps.notifier.notify('READY=1', 'STATUS=running');
    const interval = this.deps.notifier.watchdogIntervalMs;
    if (interval !== null) {
      this.watchdog = setInterval(() => {
        if (this.healthy()) void this.deps.notifier.notify('WATCHDOG=1');
        else this.log.warn('unhealthy: not feeding the systemd watchdog');
      }, interval);
    }
  }

  /** Stops in reverse order: cameras, then the pipeline drains into the outbox, which is flushed. */
  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    await this.deps.notifier.notify('STOPPING=1');
    await this.stopParts();
    this.state = 'stopped';
    this.log.info('agent stopped');
  }

  /**
   * Running, cameras supervised, the link started and the outbox usable with room left. A camera in
   * backoff or a broker out of reach is healthy (the agent works offline); a missing installer view too.
   */
  healthy(): boolean {
    if (this.state !== 'running' || !this.supervisor || !this.link) return false;
    try {
      this.supervisor.stats();
      const outbox = this.outbox?.stats();
      return outbox !== undefined && !outbox.nearFull;
    } catch {
      return false;
    }
  }

  private async stopParts(): Promise<void> {
    for (const part of this.started.splice(0).reverse()) {
      try {
        await part.stop();
      } catch (error) {
        this.log.error(
          { part: part.name, code: codeOf(error), err: error },
          `${part.name} did not stop cleanly`,
        );
      }
    }
  }

  private parts(): Part[] {
    const { config, deps } = this;
    const secret = (ref: Parameters<typeof readSecret>[0]) => readSecret(ref, deps.secrets);
    let profile: ReturnType<typeof resolveDeviceProfile>['profile'] | null = null;
    return [
      {
        name: 'device profile',
        essential: true,
        start: () => {
          const resolved = resolveDeviceProfile(config.profile, deps.probes ?? (() => probeDevice()));
          profile = resolved.profile;
          this.log.info({ profile: profile.name, reason: resolved.reason }, 'device profile');
        },
        stop: () => undefined,
      },
      {
        name: 'storage',
        essential: true,
        start: async () => {
          const modelPack = await cacheModelPack(config);
          const key = storageKey(config, deps.secrets);
          const privateKey = privateKeyFromPem(secret(config.keys.device));
          // A new device has neither file: both are created. One without the other is a lost store, an
          // error (an empty cache would match nobody; a new outbox would restart the event chain).
          const create = !existsSync(config.cache.path) && !existsSync(config.outbox.path);
          if (create) this.log.info('first start: creating the vector cache and the outbox');
          this.cache = VectorCache.open({
            config: config.cache,
            key,
            modelPack,
            create,
            logger: deps.logger,
          });
          this.outbox = Outbox.open({
            config: config.outbox,
            key,
            identity: { site: config.site, device: config.device, privateKey },
            create,
            logger: deps.logger,
          });
        },
        stop: () => {
          this.outbox?.close();
          this.cache?.close();
        },
      },
      {
        name: 'model pack',
        essential: true,
        start: async () => {
          const inference = profile!.inference;
          this.log.info({ manifest: config.models.manifest }, 'loading the face models');
          this.pack = await loadModelPack(config.models.manifest, {
            cacheDir: config.models.cacheDir,
            backend: inference.backend,
            providers: inference.providers,
            intraOpThreads: inference.intraOpThreads,
            interOpThreads: inference.interOpThreads,
            logger: deps.logger,
          });
          this.log.info({ modelPack: this.pack.id }, 'face models loaded');
        },
        stop: () => this.pack?.stop(),
      },
      {
        name: 'pipeline',
        essential: true,
        start: () => {
          const outbox = this.outbox!;
          this.pipeline = new VisionPipeline(
            config.pipeline,
            config.cameras.map((c) => c.id),
            {
              pack: this.pack!,
              gallery: this.cache!,
              sink: {
                accept: async (decision) => {
                  outbox.append(decision);
                },
              },
              logger: deps.logger,
            },
          );
          this.pipeline.start();
        },
        // Ends every open track: their decisions go into the outbox before it is flushed and closed.
        stop: () => this.pipeline?.stop(),
      },
      {
        name: 'mqtt link',
        essential: true,
        start: () => {
          const siteKeys = new Map(
            config.keys.siteKeys.map((k) => [
              k.id,
              parseKey32(secret(k.key), `site key ${k.id}`, AgentErrorCode.siteKeyInvalid),
            ]),
          );
          const hubKeys = new Map(config.keys.hubKeys.map((k) => [k.id, publicKeyFromBase64(k.publicKey)]));
          const password = config.link.password && secret(config.link.password).toString('utf8').trim();
          this.link = new AgentLink(config.link, {
            site: config.site,
            device: config.device,
            password,
            outbox: this.outbox!,
            roster: this.cache!,
            rosterKeys: {
              site: config.site,
              siteKeys: (id) => siteKeys.get(id),
              hubPublicKeys: (id) => hubKeys.get(id),
            },
            modelPack: this.pack!.id,
            agentVersion: deps.agentVersion,
            cameras: () => this.supervisor?.stats().map(cameraHealth) ?? [],
            logger: deps.logger,
          });
          this.link.start();
        },
        stop: async () => {
          await this.flush();
          await this.link?.stop();
        },
      },
      {
        name: 'cameras',
        essential: true,
        start: () => {
          const sources = config.cameras.map((camera) =>
            createCameraSource(camera, {
              logger: deps.logger,
              ffmpegPath: config.ffmpegPath,
              decode: profile!.decode,
              secrets: deps.secrets,
            }),
          );
          this.supervisor = new CameraSupervisor(
            sources,
            this.pipeline!.analyse,
            config.supervisor,
            deps.logger,
          );
          return this.supervisor.start();
        },
        stop: () => this.supervisor?.stop(),
      },
      {
        name: 'installer view',
        essential: false,
        start: () => {
          this.installer = new InstallerServer(config.installer, {
            cameraStats: () => this.supervisor?.stats() ?? [],
            pipeline: this.pipeline!,
            logger: deps.logger,
          });
          return this.installer.start();
        },
        stop: () => this.installer?.stop(),
      },
    ];
  }

  /** While connected, waits up to `shutdown.flushTimeoutMs` for the hub to ack every pending event. */
  private async flush(): Promise<void> {
    const outbox = this.outbox;
    const link = this.link;
    if (!outbox || !link) return;
    const deadline = Date.now() + this.config.shutdown.flushTimeoutMs;
    while (link.connected && outbox.stats().pending > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pending = outbox.stats().pending;
    if (pending > 0)
      this.log.warn({ pending }, 'stopping with events not yet acked; they are sent on the next start');
    else this.log.info('outbox flushed');
  }
}

function codeOf(error: unknown): string {
  return isTpError(error) ? error.code : AgentErrorCode.agentStartFailed;
}
