// Starts real hubs for end-to-end tests: buildHub on a temporary data dir, with the embedded broker on an
// ephemeral port or an external broker, SQLite or a PostgreSQL database made (and dropped) for the test.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { createLogger, parseConfig } from '@truepresence/protocol';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { type HubConfig, hubConfigSchema } from '../../cloud-hub/src/config.ts';
import { buildHub } from '../../cloud-hub/src/hub.ts';
import type { DeviceIdentity } from './sim-device.ts';
import { registration } from './sim-device.ts';

export interface RunningHub {
  app: FastifyInstance;
  config: HubConfig;
  /** mqtt://127.0.0.1:PORT of the embedded broker, when it has one. */
  brokerUrl: string | undefined;
  /** Calls the API with the admin token; throws on a status other than `expect`. */
  api<T = unknown>(method: string, url: string, body?: unknown, expect?: number): Promise<T>;
  close(): Promise<void>;
}

/** A hub on `raw` config (dataDir defaults to a new temp dir, removed by `dispose` of the caller). */
export async function startHub(raw: Record<string, unknown>): Promise<RunningHub> {
  const config = parseConfig(
    hubConfigSchema,
    { log: { level: 'silent' }, broker: { type: 'embedded', port: 0, persistence: 'memory' }, ...raw },
    'test',
  );
  const app = await buildHub(config, { logger: createLogger({ level: config.log.level, name: 'hub-test' }) });
  try {
    await app.ready();
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.broker.address();
  const token = app.keys.adminToken;
  return {
    app,
    config,
    brokerUrl: address && `mqtt://127.0.0.1:${address.port}`,
    async api<T>(method: string, url: string, body?: unknown, expect = 200): Promise<T> {
      const response = await app.inject({
        method: method as 'GET',
        url,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      if (response.statusCode !== expect) {
        throw new Error(`${method} ${url}: expected ${expect}, got ${response.statusCode} ${response.body}`);
      }
      return (response.body ? response.json() : undefined) as T;
    },
    close: () => app.close(),
  };
}

/**
 * Clean-up steps of one test, run last-in first-out once it ends (node:test runs after-hooks in the order
 * they were added): what was started last is stopped first.
 */
export function deferrals(t: TestContext): (step: () => unknown) => void {
  const steps: Array<() => unknown> = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
  });
  return (step) => {
    steps.push(step);
  };
}

export function tempDir(prefix = 'tp-hub-'): { path: string; dispose(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, dispose: () => rmSync(path, { recursive: true, force: true }) };
}

/** A site (with a hub-made roster key) and registered devices. */
export async function provision(
  hub: RunningHub,
  site: string,
  devices: readonly DeviceIdentity[],
): Promise<{ rosterKey: { id: string; key: string } }> {
  const created = await hub.api<{ rosterKey: { id: string; key: string } }>(
    'POST',
    '/api/v1/sites',
    { id: site, name: site },
    201,
  );
  for (const identity of devices) await hub.api('POST', '/api/v1/devices', registration(identity), 201);
  return { rosterKey: created.rosterKey };
}

const adminUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A PostgreSQL database for one test (trust auth on 127.0.0.1:5432), dropped by `dispose`. */
export async function postgresDatabase(): Promise<{ url: string; dispose(): Promise<void> }> {
  const name = `tp_test_hub_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin(`create database ${name}`);
  return {
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    dispose: () => admin(`drop database if exists ${name} with (force)`),
  };
}
