// The agent's storage and link assembled as a program would (until the agent's main exists): storage key
// from a secret file, vector cache, outbox, MQTT link. Used in-process and by the crash-test child.
import { createPublicKey, type KeyObject, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateEd25519KeyPair,
  type HubSigningKey,
  type Logger,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyFromBase64,
  publicKeyToBase64,
  readSecret,
  type SiteKey,
} from '@truepresence/protocol';
import { VectorCache } from '../../edge-agent/src/cache/vector-cache.ts';
import { type DecisionFields, Outbox } from '../../edge-agent/src/outbox/outbox.ts';
import { AgentLink } from '../../edge-agent/src/sync/agent-link.ts';
import { type LinkConfig, linkConfigSchema } from '../../edge-agent/src/sync/config.ts';

export const MODEL_PACK = 'pack-1';

/** Everything a provisioned test device needs, as plain JSON so that a child process can take it. */
export interface AgentSetup {
  dir: string;
  url: string;
  site: string;
  device: string;
  storageKeyFile: string;
  deviceKeyFile: string;
  hubKeyId: string;
  hubPublicKey: string;
  siteKeyId: string;
  siteKeyHex: string;
  /** Broker login: the user name and the file holding the password (mode 0600). */
  username?: string;
  passwordFile?: string;
}

export interface Provisioned {
  setup: AgentSetup;
  devicePublicKey: KeyObject;
  hubKey: HubSigningKey;
  siteKey: SiteKey;
}

/** Makes the keys and secret files (mode 0600) of one device of site `site-a` under `dir`. */
export function provision(dir: string, url: string, device = 'door-1'): Provisioned {
  const deviceKeys = generateEd25519KeyPair();
  const hubKey: HubSigningKey = { id: 'hub-1', privateKey: generateEd25519KeyPair().privateKey };
  const siteKey: SiteKey = { id: 'site-1', key: randomBytes(32) };
  const storageKeyFile = join(dir, 'storage.key');
  const deviceKeyFile = join(dir, 'device.pem');
  writeFileSync(storageKeyFile, randomBytes(32), { mode: 0o600 });
  writeFileSync(deviceKeyFile, privateKeyToPem(deviceKeys.privateKey), { mode: 0o600 });
  return {
    setup: {
      dir,
      url,
      site: 'site-a',
      device,
      storageKeyFile,
      deviceKeyFile,
      hubKeyId: hubKey.id,
      hubPublicKey: publicKeyToBase64(createPublicKey(hubKey.privateKey)),
      siteKeyId: siteKey.id,
      siteKeyHex: siteKey.key.toString('hex'),
    },
    devicePublicKey: deviceKeys.publicKey,
    hubKey,
    siteKey,
  };
}

export interface TestAgent {
  cache: VectorCache;
  outbox: Outbox;
  link: AgentLink;
  /** Stops the link (retained offline status), then closes the databases. */
  close(): Promise<void>;
}

/** Test timings: quick reconnects, ack and sync timeouts, so that retries happen within a test. */
export function testLinkConfig(setup: AgentSetup): LinkConfig {
  return linkConfigSchema.parse({
    url: setup.url,
    ...(setup.username === undefined
      ? {}
      : { username: setup.username, password: { file: setup.passwordFile } }),
    reconnect: { initialMs: 20, maxMs: 200 },
    statusMinIntervalMs: 50,
    publisher: { window: 500, ackTimeoutMs: 1000, maxAckTimeoutMs: 2000 },
    sync: { timeoutMs: 1000, retry: { initialMs: 50, maxMs: 500 } },
  });
}

/** Opens the cache, then the outbox (both created when `create`), and builds the link; `start` is the caller's. */
export function openAgent(
  setup: AgentSetup,
  create: boolean,
  logger: Logger,
  modelPack = MODEL_PACK,
): TestAgent {
  const config = testLinkConfig(setup);
  const storageKey = readSecret({ file: setup.storageKeyFile }, {});
  const privateKey = privateKeyFromPem(readSecret({ file: setup.deviceKeyFile }, {}));
  const password = config.password && readSecret(config.password, {}).toString('utf8').trim();
  const cache = VectorCache.open({
    config: { path: join(setup.dir, 'cache.db'), pageCacheMiB: 8 },
    key: storageKey,
    modelPack,
    create,
    logger,
  });
  let outbox: Outbox;
  try {
    outbox = Outbox.open({
      config: {
        path: join(setup.dir, 'outbox.db'),
        maxBytes: 64 * 1024 * 1024,
        nearFullRatio: 0.8,
        reserveDiskBytes: 0,
      },
      key: storageKey,
      identity: { site: setup.site, device: setup.device, privateKey },
      create,
      logger,
    });
  } catch (error) {
    cache.close();
    throw error;
  }
  const siteKey = Buffer.from(setup.siteKeyHex, 'hex');
  const hubPublicKey = publicKeyFromBase64(setup.hubPublicKey);
  const link = new AgentLink(config, {
    site: setup.site,
    device: setup.device,
    password,
    outbox,
    roster: cache,
    rosterKeys: {
      site: setup.site,
      siteKeys: (id) => (id === setup.siteKeyId ? siteKey : undefined),
      hubPublicKeys: (id) => (id === setup.hubKeyId ? hubPublicKey : undefined),
    },
    modelPack,
    agentVersion: 'test',
    logger,
  });
  return {
    cache,
    outbox,
    link,
    async close() {
      await link.stop();
      outbox.close();
      cache.close();
    },
  };
}

/** A valid decision; `i` varies the person and capture time. */
export function decision(i: number): DecisionFields {
  return {
    camera: 'front',
    kind: 'attendance',
    personId: `person-${i % 50}`,
    direction: i % 2 === 0 ? 'in' : 'out',
    capturedAt: new Date(Date.UTC(2025, 0, 6, 8, 0, 0) + i).toISOString(),
    similarity: 0.72,
    margin: 0.21,
    liveness: 0.97,
    quality: 0.81,
    rosterSeq: 0,
    modelPack: MODEL_PACK,
  };
}
