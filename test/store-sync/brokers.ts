// Real MQTT brokers for the store-and-sync tests: aedes in this process, Mosquitto as a child process.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { freePort } from '../helpers/ports.ts';
import { stopProcess, track } from '../helpers/processes.ts';

export interface TestBroker {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  /** Takes the broker down; `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** aedes 1.x in this process, in-memory persistence (a restart forgets sessions, like a fresh broker). */
export async function aedesBroker(): Promise<TestBroker> {
  const port = await freePort();
  let broker: Aedes | null = null;
  let server: Server | null = null;
  const self: TestBroker = {
    name: 'aedes',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const created = await Aedes.createBroker();
      // As the hub's embedded broker: acks are small packets that must leave at once, not wait for Nagle.
      const listening = createServer((socket) => {
        socket.setNoDelay(true);
        created.handle(socket);
      });
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, '127.0.0.1', resolve);
      });
      broker = created;
      server = listening;
    },
    async stop() {
      const [b, s] = [broker, server];
      broker = null;
      server = null;
      if (!b || !s) return;
      // Stop accepting first, then drop the clients; the server closes once its connections are gone.
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      await new Promise<void>((resolve) => b.close(() => resolve()));
      await closed;
    },
  };
  await self.start();
  return self;
}

export interface MosquittoOptions {
  /** user -> password; when given, anonymous clients are refused. */
  users?: Record<string, string>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Mosquitto 2 on a free port with its own config in a temp dir (and a password file when users are given).
 * Unlimited in-flight and queued messages, so a backlog of thousands of QoS 1 events or acks is never
 * dropped by the broker's defaults.
 */
export async function mosquittoBroker(
  options: MosquittoOptions = {},
): Promise<TestBroker & { dispose(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tp-mosquitto-'));
  const lines = [
    `listener ${port} 127.0.0.1`,
    'persistence false',
    'max_inflight_messages 0',
    'max_queued_messages 0',
    'log_dest stderr',
    'log_type error',
    // Run as root, mosquitto would drop to user "mosquitto", which cannot read this temp dir.
    ...(process.getuid?.() === 0 ? ['user root'] : []),
  ];
  if (options.users) {
    const passwords = join(dir, 'passwd');
    for (const [i, [user, password]] of Object.entries(options.users).entries()) {
      execFileSync('/usr/bin/mosquitto_passwd', [
        ...(i === 0 ? ['-c'] : []),
        '-b',
        passwords,
        user,
        password,
      ]);
    }
    chmodSync(passwords, 0o600);
    lines.push('allow_anonymous false', `password_file ${passwords}`);
  } else {
    lines.push('allow_anonymous true');
  }
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let child: ChildProcess | null = null;
  const broker = {
    name: 'mosquitto',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async start() {
      const started = track(
        spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] }),
      );
      let stderr = '';
      started.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child = started;
      // Poll until it accepts connections; the limit only turns a broken set-up into a clear failure.
      for (let i = 0; i < 500; i++) {
        if (started.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
        if (await portOpen(port)) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`mosquitto did not listen on ${port}: ${stderr}`);
    },
    async stop() {
      const running = child;
      child = null;
      if (running) await stopProcess(running, 'SIGKILL');
    },
    async dispose() {
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}
