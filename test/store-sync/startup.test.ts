// The agent program (edge-agent/src/main.ts) whose storage cannot be opened stops at start-up with a coded
// error and a non-zero exit, and leaves its files exactly as they were.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultManifestPath, packId } from '@truepresence/model-pack';
import { createLogger } from '@truepresence/protocol';
import { track } from '../helpers/processes.ts';
import { type AgentSetup, decision, openAgent, provision } from './agent.ts';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tp-startup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function digest(path: string): string | null {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : null;
}

function damage(path: string): void {
  const bytes = readFileSync(path);
  bytes.fill(0x5a, 2 * 8192 + 64, 2 * 8192 + 160);
  writeFileSync(path, bytes);
}

/** The agent's config for a provisioned test device, without cameras, and its broker out of reach. */
function agentConfig(setup: AgentSetup): string {
  const path = join(setup.dir, 'agent.json');
  const siteKeyFile = join(setup.dir, 'site.key');
  writeFileSync(siteKeyFile, Buffer.from(setup.siteKeyHex, 'hex'), { mode: 0o600 });
  const config = {
    site: setup.site,
    device: setup.device,
    keys: {
      device: { file: setup.deviceKeyFile },
      cache: { file: setup.storageKeyFile },
      siteKeys: [{ id: setup.siteKeyId, key: { file: siteKeyFile } }],
      hubKeys: [{ id: setup.hubKeyId, publicKey: setup.hubPublicKey }],
    },
    link: { url: setup.url },
    cameras: [],
    cache: { path: join(setup.dir, 'cache.db') },
    outbox: { path: join(setup.dir, 'outbox.db') },
    log: { level: 'warn' },
  };
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** Runs the agent program; resolves with its exit code and the error code it printed. */
function runAgent(
  configPath: string,
): Promise<{ exitCode: number | null; code: string | undefined; stderr: string }> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', 'edge-agent/src/main.ts', '--config', configPath], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // An agent that starts after all would run on: the limit turns that into a failure, not a hang.
  const limit = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('close', (exitCode) => {
      clearTimeout(limit);
      resolve({ exitCode, code: /^(TP_[A-Z_]+): /m.exec(stderr)?.[1], stderr });
    }),
  );
}

interface Case {
  name: string;
  spoil(setup: AgentSetup): void;
  code: string;
}

const cases: Case[] = [
  {
    name: 'a wrong storage key',
    spoil: (s) => writeFileSync(s.storageKeyFile, randomBytes(32), { mode: 0o600 }),
    code: 'TP_AGENT_CACHE_KEY_WRONG',
  },
  { name: 'a missing key file', spoil: (s) => rmSync(s.storageKeyFile), code: 'TP_SECRET_MISSING' },
  { name: 'a damaged cache', spoil: (s) => damage(join(s.dir, 'cache.db')), code: 'TP_AGENT_CACHE_CORRUPT' },
  {
    name: 'a damaged outbox',
    spoil: (s) => damage(join(s.dir, 'outbox.db')),
    code: 'TP_AGENT_OUTBOX_CORRUPT',
  },
  {
    name: 'a missing outbox',
    spoil: (s) => rmSync(join(s.dir, 'outbox.db')),
    code: 'TP_AGENT_OUTBOX_MISSING',
  },
];

describe('agent start-up with unusable storage', () => {
  it('exits non-zero with a clear code and touches no file', async () => {
    const baseDir = join(dir, 'base');
    mkdirSync(baseDir);
    const { setup } = provision(baseDir, 'mqtt://127.0.0.1:9');
    // The store as the agent made it: its cache holds templates of the default pack, named as the agent names it.
    const manifest = JSON.parse(readFileSync(defaultManifestPath, 'utf8')) as {
      name: string;
      version: string;
    };
    const logger = createLogger({ level: 'silent', name: 'setup' });
    const agent = openAgent(setup, true, logger, packId(manifest));
    for (let i = 0; i < 200; i++) agent.outbox.append(decision(i));
    await agent.close();

    const runs = cases.map((c, i) => {
      const caseDir = join(dir, `case-${i}`);
      cpSync(setup.dir, caseDir, { recursive: true });
      const spoilt: AgentSetup = {
        ...setup,
        dir: caseDir,
        storageKeyFile: join(caseDir, 'storage.key'),
        deviceKeyFile: join(caseDir, 'device.pem'),
      };
      const configPath = agentConfig(spoilt);
      c.spoil(spoilt);
      const files = ['cache.db', 'outbox.db'].map((f) => join(caseDir, f));
      const before = files.map(digest);
      return runAgent(configPath).then((result) => ({ c, result, before, after: files.map(digest) }));
    });
    for (const { c, result, before, after } of await Promise.all(runs)) {
      assert.notEqual(result.exitCode, 0, `${c.name}: ${result.stderr}`);
      assert.equal(result.code, c.code, `${c.name}: ${result.stderr}`);
      assert.deepEqual(after, before, `${c.name}: the files changed`);
    }
  });
});
