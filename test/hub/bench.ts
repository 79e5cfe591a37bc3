// Bench section "hub": signed events from simulated agents (on their own thread) through the embedded MQTT
// broker into the hub, on SQLite and on PostgreSQL (events per second when flooded; ack p95 at a steady 500
// events/s, publish to ack as the agent sees it), then the attendance-by-day query through the REST API with
// 1,000,000 stored events.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { privateKeyToPem } from '@truepresence/protocol';
import type { NewEvent } from '../../cloud-hub/src/store/index.ts';
import type { BenchContext } from '../bench.ts';
import type { Section } from '../report.ts';
import type { AgentCommand, AgentReport, AgentsData } from './bench-agents.ts';
import { postgresDatabase, provision, type RunningHub, startHub, tempDir } from './harness.ts';
import { makeIdentity } from './sim-device.ts';

const devicesPerRun = 8;
const floodEvents = 16_000;
const steadyRate = 500;
const steadySeconds = 10;
const storedTarget = 1_000_000;

/** Progress on stderr: the section takes minutes. */
function progress(line: string): void {
  process.stderr.write(`hub bench: ${line}\n`);
}

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))] ?? Number.NaN;
}

interface IngestFigures {
  eventsPerSec: number;
  ackP95Ms: number;
  /** CPU of the whole process (agents' MQTT clients, broker, hub, verification threads) per flooded event. */
  cpuMsPerEvent: number;
}

/** The agents' thread (TypeScript too: tsx is registered in it before its module loads). */
function startAgents(data: AgentsData): Worker {
  const entry = new URL('./bench-agents.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: data },
  );
}

function reply<T>(worker: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

async function measure(hub: RunningHub, site: string): Promise<IngestFigures> {
  const identities = await Promise.all(
    Array.from({ length: devicesPerRun }, (_, i) => makeIdentity(site, `${site}-dev-${i}`)),
  );
  await provision(hub, site, identities);
  const agents = startAgents({
    url: hub.brokerUrl!,
    specs: identities.map((i) => ({
      site: i.site,
      device: i.device,
      username: i.username,
      password: i.password,
      privateKeyPem: privateKeyToPem(i.privateKey),
    })),
    flood: floodEvents,
    steady: { rate: steadyRate, seconds: steadySeconds },
  });
  try {
    await reply<'ready'>(agents);
    // Flood: every agent empties a full outbox at once.
    const cpu = process.cpuUsage();
    agents.postMessage('flood' satisfies AgentCommand);
    const flood = await reply<AgentReport>(agents);
    const used = process.cpuUsage(cpu);
    const eventsPerSec = Math.round(floodEvents / (flood.elapsedMs / 1000));
    const cpuMsPerEvent = Math.round(((used.user + used.system) / 1000 / floodEvents) * 1000) / 1000;
    progress(`${site}: flood of ${floodEvents} events at ${eventsPerSec}/s, ${cpuMsPerEvent} ms CPU each`);
    // Steady: 500 events/s spread over the agents, latency from publish to ack as the agents see it.
    agents.postMessage('steady' satisfies AgentCommand);
    const steady = await reply<AgentReport>(agents);
    const rejected = [...flood.rejected, ...steady.rejected];
    if (rejected.length > 0) {
      throw new Error(`the hub refused ${rejected.length} good events: ${rejected.slice(0, 5).join(', ')}`);
    }
    const ackP95Ms = Math.round(p95(steady.latenciesMs) * 10) / 10;
    progress(`${site}: ack p95 ${ackP95Ms} ms at ${steadyRate} events/s`);
    return { eventsPerSec, ackP95Ms, cpuMsPerEvent };
  } finally {
    agents.postMessage('close' satisfies AgentCommand);
    await new Promise((resolve) => agents.once('exit', resolve));
  }
}

/** Fills the store with `count` events of one site (2,000 people, 4 doors, ~10,000 passes a day). */
async function fill(hub: RunningHub, count: number): Promise<string[]> {
  const identity = await makeIdentity('site-big', 'big-dev');
  await provision(hub, 'site-big', [identity]);
  const perDay = 10_000;
  const first = Date.UTC(2025, 0, 1);
  const envelope = JSON.stringify({ padding: 'x'.repeat(560) });
  const batch: NewEvent[] = [];
  for (let i = 0; i < count; i++) {
    const day = Math.floor(i / perDay);
    const capturedAt =
      first + day * 86_400_000 + 6 * 3_600_000 + Math.floor(((i % perDay) / perDay) * 14 * 3_600_000);
    batch.push({
      eventId: randomUUID(),
      deviceId: 'big-dev',
      siteId: 'site-big',
      cameraId: `door-${i % 4}`,
      kind: i % 50 === 0 ? 'unknown' : 'attendance',
      personId: i % 50 === 0 ? null : `person-${(i * 7919) % 2000}`,
      direction: i % 2 ? 'out' : 'in',
      capturedAt,
      similarity: 0.7,
      margin: 0.2,
      liveness: 0.98,
      quality: 0.8,
      rosterSeq: 1,
      modelPackVersion: 'faceplugin-default@1.0.0',
      deviceSeq: i + 1,
      prevHash: '0'.repeat(64),
      envelopeHash: '1'.repeat(64),
      envelope,
      receivedAt: capturedAt + 50,
    });
    if (batch.length === 5000) await hub.app.store.insertEvents(batch.splice(0));
    if ((i + 1) % 100_000 === 0) progress(`stored ${i + 1} events`);
  }
  if (batch.length > 0) await hub.app.store.insertEvents(batch);
  const days = Math.ceil(count / perDay);
  return Array.from({ length: days }, (_, d) => new Date(first + d * 86_400_000).toISOString().slice(0, 10));
}

export const hubBenchSection: Section<BenchContext> = {
  name: 'hub',
  async run() {
    const dir = tempDir('tp-hub-bench-');
    const database = await postgresDatabase();
    try {
      // The embedded broker as it runs by default: its level persistence keeps the QoS 1 acks to agents.
      const broker = { type: 'embedded', port: 0, persistence: 'level' };
      const sqliteHub = await startHub({
        broker,
        dataDir: join(dir.path, 'sqlite'),
        store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
      });
      let sqlite: IngestFigures;
      let attendanceDayQueryP95Ms: number;
      let storedEvents: number;
      try {
        sqlite = await measure(sqliteHub, 'site-s');
        const days = await fill(sqliteHub, storedTarget);
        progress('attendance-by-day queries');
        const counts = await sqliteHub.app.store.countEvents({});
        storedEvents = counts.attendance + counts.unknown + counts.spoof;
        const times: number[] = [];
        for (let i = 0; i < 60; i++) {
          const day = days[(i * 37) % days.length]!;
          const started = performance.now();
          const response = await sqliteHub.app.inject({
            url: `/api/v1/attendance?siteId=site-big&from=${day}&to=${day}`,
            headers: { authorization: `Bearer ${sqliteHub.app.keys.adminToken}` },
          });
          times.push(performance.now() - started);
          if (response.statusCode !== 200 || response.json().days.length === 0) {
            throw new Error(`attendance query failed: ${response.statusCode} ${response.body.slice(0, 200)}`);
          }
        }
        attendanceDayQueryP95Ms = Math.round(p95(times) * 10) / 10;
      } finally {
        await sqliteHub.close();
      }
      progress('PostgreSQL');
      const pgHub = await startHub({
        broker,
        dataDir: join(dir.path, 'pg'),
        store: { type: 'postgres', url: database.url },
      });
      let postgres: IngestFigures;
      try {
        postgres = await measure(pgHub, 'site-p');
      } finally {
        await pgHub.close();
      }
      return { hub: { sqlite, postgres, attendanceDayQueryP95Ms, storedEvents } };
    } finally {
      await database.dispose();
      dir.dispose();
    }
  },
  gate(result) {
    const hub = result.hub as {
      sqlite: { eventsPerSec: number; ackP95Ms: number };
      attendanceDayQueryP95Ms: number;
    };
    const failures: string[] = [];
    if (hub.sqlite.eventsPerSec < 3000)
      failures.push(`hub: ${hub.sqlite.eventsPerSec} events/s on SQLite (target >= 3000)`);
    if (hub.sqlite.ackP95Ms > 50)
      failures.push(`hub: ack p95 ${hub.sqlite.ackP95Ms} ms at 500 events/s (target <= 50)`);
    if (hub.attendanceDayQueryP95Ms > 100) {
      failures.push(`hub: attendance-by-day p95 ${hub.attendanceDayQueryP95Ms} ms (target <= 100)`);
    }
    return failures;
  },
};
