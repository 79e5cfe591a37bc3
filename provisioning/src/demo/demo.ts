// The one-command demo: a hub on embedded defaults, a demo site and device provisioned through the hub's
// admin API, people enrolled (with consent records) from real photos, a walk-by clip made from the same
// photos, and an agent analysing it as a looped file camera. Hub and agent run as child processes, as they
// would in production (two programs, two systemd units): each loads its own models, logs on its own, and
// a crash of one is seen by the demo, which then stops the other. Everything lives under `dataDir`; a
// second start reuses what is there.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '@truepresence/protocol';
import { AGENT_CONFIG_FILE } from '../bundle.ts';
import { addDevice } from '../device.ts';
import { HubApiRegistrar } from '../registrars/hub-api.ts';
import { initSite, readSite } from '../site.ts';
import { buildScene, enrolmentPhoto, type PhotoFace, type Scene, sampleFaces } from './clip.ts';

const root = resolve(import.meta.dirname, '..', '..', '..');
export const DEMO_SITE = 'demo';
export const DEMO_DEVICE = 'door-1';
export const DEMO_CAMERA = 'entrance';

export interface DemoOptions {
  dataDir: string;
  httpPort: number;
  mqttPort: number;
  /** Progress lines for the person who ran the demo. */
  print: (line: string) => void;
  logger: Logger;
}

/** Enrolled demo people: who they are and the face of the sample photos they are enrolled from. */
const people: ReadonlyArray<{ externalId: string; displayName: string; face: PhotoFace }> = [
  { externalId: 'demo-ann', displayName: 'Ann Walker', face: sampleFaces.s6Left },
  { externalId: 'demo-bea', displayName: 'Bea Strand', face: sampleFaces.s6Right },
  { externalId: 'demo-cat', displayName: 'Cat Doorley', face: sampleFaces.s4Left },
  // Dee never walks by: only a printed photo of her is held up to the camera (a spoof).
  { externalId: 'demo-dee', displayName: 'Dee Printed', face: sampleFaces.s3Middle },
];

/** Walkers come out of the doorway and grow as they approach, crossing the middle of the frame downwards. */
const approach = (start: number, side: 'left' | 'right') => ({
  start,
  end: start + 4,
  from: side === 'left' ? ([570, 260] as const) : ([710, 260] as const),
  to: side === 'left' ? ([320, 470] as const) : ([960, 470] as const),
  heights: [150, 540] as const,
});

const scene: Scene = {
  width: 1280,
  height: 720,
  fps: 10,
  seconds: 19.5,
  walkers: [
    { name: 'demo-ann', face: sampleFaces.s6Left, enrolled: true, ...approach(0.5, 'left') },
    { name: 'stranger-1', face: sampleFaces.s2Right, enrolled: false, ...approach(1, 'right') },
    { name: 'demo-bea', face: sampleFaces.s6Right, enrolled: true, ...approach(5, 'left') },
    { name: 'stranger-2', face: sampleFaces.s3Left, enrolled: false, ...approach(5.5, 'right') },
    { name: 'demo-cat', face: sampleFaces.s4Left, enrolled: true, ...approach(10, 'right') },
  ],
  print: { face: sampleFaces.s3Middle, start: 14.5, end: 19 },
};

/** Where the demo keeps each thing under its data folder. */
export function demoPaths(dataDir: string) {
  const dir = resolve(dataDir);
  return {
    dir,
    hubConfig: join(dir, 'hub.json'),
    hubData: join(dir, 'hub'),
    adminToken: join(dir, 'hub', 'keys', 'admin-api-token'),
    sites: join(dir, 'sites'),
    bundle: join(dir, 'sites', DEMO_SITE, 'devices', DEMO_DEVICE),
    clipDir: join(dir, 'clip'),
    clip: join(dir, 'clip', 'walk.mp4'),
    agentConfig: join(dir, 'agent.json'),
    agentData: join(dir, 'agent'),
  };
}

interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number | null>;
}

export class Demo {
  private readonly paths: ReturnType<typeof demoPaths>;
  private readonly children: Child[] = [];
  private stopping = false;
  private stopped: Promise<void> | null = null;
  /** Resolves with the name of a child that exited while the demo was running. */
  readonly childExited: Promise<string>;
  private onChildExit: (name: string) => void = () => undefined;

  constructor(private readonly options: DemoOptions) {
    this.paths = demoPaths(options.dataDir);
    this.childExited = new Promise((resolve) => {
      this.onChildExit = resolve;
    });
  }

  get hubUrl(): string {
    return `http://127.0.0.1:${this.options.httpPort}`;
  }

  get brokerUrl(): string {
    return `mqtt://127.0.0.1:${this.options.mqttPort}`;
  }

  /** Process ids of the hub and the agent, once started. */
  get pids(): Record<string, number | undefined> {
    return Object.fromEntries(this.children.map((c) => [c.name, c.process.pid]));
  }

  async start(): Promise<void> {
    const { print } = this.options;
    mkdirSync(this.paths.dir, { recursive: true, mode: 0o700 });
    const firstStart = !existsSync(this.paths.hubData);
    print(`data in ${this.paths.dir}${firstStart ? '' : ' (reused from an earlier start)'}`);
    const clip = this.ensureClip();
    await this.startHub();
    const token = readFileSync(this.paths.adminToken, 'utf8').trim();
    await this.provision(token);
    await this.enrol(token);
    await clip;
    this.startAgent();
    print(
      `open ${this.hubUrl}/ and log in as "admin"${firstStart ? ' (password above)' : ' (password shown at the first start)'}`,
    );
    print('people walk past the camera every 20 s; attendance, unknown and spoof decisions appear on Today');
    print('Ctrl-C stops everything');
  }

  /** Stops the agent first (it drains its pipeline and flushes its outbox to the hub), then the hub. */
  stop(): Promise<void> {
    this.stopped ??= this.stopChildren();
    return this.stopped;
  }

  private async stopChildren(): Promise<void> {
    this.stopping = true;
    for (const child of [...this.children].reverse()) {
      this.options.print(`stopping the ${child.name}`);
      child.process.kill('SIGTERM');
      const timer = setTimeout(() => child.process.kill('SIGKILL'), 35_000);
      await child.exited;
      clearTimeout(timer);
    }
  }

  /** Kills whatever child is still running (the demo itself is exiting). */
  kill(): void {
    for (const child of this.children) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  }

  private async ensureClip(): Promise<void> {
    if (existsSync(this.paths.clip)) return;
    mkdirSync(this.paths.clipDir, { recursive: true });
    this.options.print('making the walk-by clip from the sample photos with ffmpeg...');
    const started = Date.now();
    await buildScene(this.paths.clipDir, 'walk', scene);
    this.options.print(`walk-by clip ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }

  private spawnChild(
    name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    onLine: (line: string) => void,
  ): Child {
    // Own process group: Ctrl-C reaches the demo only, which stops the children in order.
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', onLine);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        if (!this.stopping) this.onChildExit(name);
        resolve(code);
      });
    });
    const entry = { name, process: child, exited };
    this.children.push(entry);
    this.options.print(`${name} started (pid ${child.pid})`);
    return entry;
  }

  /** Prints a child's log lines: messages of warn and above, and the ones `keep` picks. */
  private relay(name: string, keep: (entry: Record<string, unknown>) => boolean): (line: string) => void {
    return (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // Not a log line: text the program prints for its user (the hub's first admin password).
        if (line.trim() !== '') this.options.print(`[${name}] ${line}`);
        return;
      }
      if (Number(entry.level) >= 40 || keep(entry)) {
        const code = typeof entry.code === 'string' ? `${entry.code}: ` : '';
        const url = typeof entry.url === 'string' ? ` ${entry.url}` : '';
        this.options.print(`[${name}] ${code}${String(entry.msg)}${url}`);
      }
    };
  }

  private async startHub(): Promise<void> {
    const { print } = this.options;
    writeFileSync(
      this.paths.hubConfig,
      `${JSON.stringify(
        {
          dataDir: this.paths.hubData,
          log: { level: 'warn' },
          http: { port: this.options.httpPort },
          store: { type: 'sqlite', path: join(this.paths.hubData, 'hub.sqlite') },
          broker: { type: 'embedded', port: this.options.mqttPort },
        },
        null,
        2,
      )}\n`,
    );
    print(`starting the hub (web page ${this.hubUrl}/, MQTT ${this.brokerUrl})...`);
    const hub = this.spawnChild(
      'hub',
      ['cloud-hub/src/main.ts', '--config', this.paths.hubConfig],
      process.env,
      this.relay('hub', () => false),
    );
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (hub.process.exitCode !== null) throw new Error(`the hub exited (${hub.process.exitCode}) at start`);
      const ready = await fetch(`${this.hubUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error('the hub did not become ready within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    print('hub ready');
  }

  private async provision(token: string): Promise<void> {
    const registrar = new HubApiRegistrar(
      { url: this.hubUrl, token, timeoutMs: 30_000 },
      this.options.logger,
    );
    if (!existsSync(join(this.paths.sites, DEMO_SITE))) {
      await initSite(
        {
          sitesDir: this.paths.sites,
          id: DEMO_SITE,
          name: 'Demo office',
          timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          brokerUrl: this.brokerUrl,
          hubKey: undefined,
        },
        registrar,
        this.options.logger,
      );
      this.options.print(`site "${DEMO_SITE}" provisioned`);
    }
    if (!existsSync(this.paths.bundle)) {
      await addDevice(
        {
          site: readSite(this.paths.sites, DEMO_SITE),
          id: DEMO_DEVICE,
          profile: 'auto',
          brokerUrl: this.brokerUrl,
          out: undefined,
          secretRefs: 'credential',
          installDir: undefined,
        },
        registrar,
        this.options.logger,
      );
      this.options.print(`device "${DEMO_DEVICE}" provisioned (bundle ${this.paths.bundle})`);
    }
  }

  private async api<T>(
    token: string,
    method: string,
    path: string,
    body?: unknown,
    type?: string,
  ): Promise<T> {
    const response = await fetch(`${this.hubUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': type ?? 'application/json' }),
      },
      ...(body === undefined ? {} : { body: body instanceof Buffer ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as T;
  }

  /** Adds each demo person with a consent record, then their photo, unless the hub has them already. */
  private async enrol(token: string): Promise<void> {
    const { people: known } = await this.api<{ people: Array<{ id: string; externalId: string | null }> }>(
      token,
      'GET',
      `/api/v1/people?siteId=${DEMO_SITE}`,
    );
    let announced = false;
    for (const person of people) {
      let id = known.find((k) => k.externalId === person.externalId)?.id;
      if (id !== undefined) {
        const { templates } = await this.api<{ templates: unknown[] }>(token, 'GET', `/api/v1/people/${id}`);
        if (templates.length > 0) continue;
      }
      if (!announced)
        this.options.print('enrolling the demo people (the hub loads its face models first)...');
      announced = true;
      if (id === undefined) {
        const created = await this.api<{ person: { id: string } }>(token, 'POST', '/api/v1/people', {
          displayName: person.displayName,
          externalId: person.externalId,
          siteIds: [DEMO_SITE],
          consent: { legalBasis: 'consent', noticeVersion: 'demo-notice-1' },
        });
        id = created.person.id;
      }
      await this.api(
        token,
        'POST',
        `/api/v1/people/${id}/photos`,
        // The hub enrols a photo of one face only: a tight crop keeps the neighbours of the group photo out.
        await enrolmentPhoto(person.face, 0.4),
        'image/jpeg',
      );
      this.options.print(`enrolled ${person.displayName}`);
    }
  }

  private startAgent(): void {
    const bundle = JSON.parse(readFileSync(join(this.paths.bundle, AGENT_CONFIG_FILE), 'utf8')) as {
      link: Record<string, unknown>;
    };
    mkdirSync(this.paths.agentData, { recursive: true, mode: 0o700 });
    const config = {
      ...bundle,
      link: { ...bundle.link, url: this.brokerUrl, statusMinIntervalMs: 200 },
      cameras: [{ type: 'file', id: DEMO_CAMERA, path: this.paths.clip, loop: true }],
      pipeline: {
        cameras: { [DEMO_CAMERA]: { direction: { type: 'line', from: [0, 0.5], to: [1, 0.5] } } },
      },
      cache: { path: join(this.paths.agentData, 'vector-cache.db') },
      outbox: { path: join(this.paths.agentData, 'outbox.db'), reserveDiskBytes: 0 },
      installer: { port: 0 },
    };
    writeFileSync(this.paths.agentConfig, `${JSON.stringify(config, null, 2)}\n`);
    this.options.print('starting the agent (loading its face models)...');
    this.spawnChild(
      'agent',
      ['edge-agent/src/main.ts', 'run', '--config', this.paths.agentConfig],
      // The bundle's agent.json names its secrets as systemd credentials: the bundle folder holds them.
      { ...process.env, CREDENTIALS_DIRECTORY: this.paths.bundle },
      this.relay(
        'agent',
        (entry) =>
          entry.component === 'agent' || (entry.component === 'installer' && typeof entry.url === 'string'),
      ),
    );
  }
}
