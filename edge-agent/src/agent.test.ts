// The Agent controller with its real parts (models, encrypted stores, a file camera, the installer view)
// and systemd's notification socket served by a real listener that the real systemd-notify writes to.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  generateEd25519KeyPair,
  parseConfig,
  privateKeyToPem,
  publicKeyToBase64,
} from '@truepresence/protocol';
import { facePhotos, makeClip } from '../../test/helpers/clips.ts';
import { captureLogger } from '../../test/helpers/logs.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { stopProcess, track } from '../../test/helpers/processes.ts';
import { waitUntil } from '../../test/helpers/wait.ts';
import { Agent } from './agent.ts';
import { type AgentConfig, agentConfigSchema } from './config.ts';
import { SdNotifier } from './sd-notify.ts';

/** A Unix datagram socket (Python: Node has none) printing each notification it receives as one line. */
function notifyListener(path: string): { child: ChildProcess; messages: string[] } {
  const script = `import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)`;
  const child = track(
    spawn('/usr/bin/python3', ['-c', script, path], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const messages: string[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    messages.push(...lines);
  });
  return { child, messages };
}

describe('Agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-agent-'));
  const captured = captureLogger('info');
  const { logger } = captured;
  const lines = () => captured.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  let raw: Record<string, unknown>;
  let listener: ReturnType<typeof notifyListener>;
  const socket = join(dir, 'notify.sock');

  before(async () => {
    for (const [name, bytes] of [
      ['cache.key', randomBytes(32).toString('base64url')],
      ['site.key', randomBytes(32).toString('base64url')],
      ['device.key', privateKeyToPem(generateEd25519KeyPair().privateKey)],
    ] as const) {
      writeFileSync(join(dir, name), bytes, { mode: 0o600 });
    }
    const clip = await makeClip({
      photo: facePhotos[5]!,
      out: join(dir, 'clip.mp4'),
      seconds: 2,
      from: { zoom: 2, x: 0.2, y: 0.4 },
    });
    raw = {
      site: 'hq',
      device: 'door-1',
      profile: 'cpu-x86_64',
      keys: {
        device: { credential: 'device.key' },
        cache: { credential: 'cache.key' },
        siteKeys: [{ id: 'hq.k1', key: { credential: 'site.key' } }],
        hubKeys: [{ id: 'hub-1', publicKey: publicKeyToBase64(generateEd25519KeyPair().publicKey) }],
      },
      // Nothing listens there: the agent works offline.
      link: { url: `mqtt://127.0.0.1:${await freePort()}`, reconnect: { initialMs: 50, maxMs: 200 } },
      cameras: [{ type: 'file', id: 'front', path: clip, loop: true }],
      cache: { path: join(dir, 'cache.db'), pageCacheMiB: 8 },
      outbox: { path: join(dir, 'outbox.db'), reserveDiskBytes: 0 },
      installer: { port: 0 },
    };
    listener = notifyListener(socket);
    await waitUntil(() => listener.messages.includes('listening'), 'the notify socket', 10_000);
  });

  after(async () => {
    await stopProcess(listener.child);
    rmSync(dir, { recursive: true, force: true });
  });

  const agentWith = (config: AgentConfig, watchdogUsec?: string) =>
    new Agent(config, {
      logger,
      secrets: { credentialsDirectory: dir },
      notifier: new SdNotifier({ socket, watchdogUsec }, logger),
      agentVersion: 'test',
    });

  it('starts in order, tells systemd it is ready, feeds the watchdog while healthy, stops in reverse', async () => {
    const agent = agentWith(parseConfig(agentConfigSchema, raw, 'test'), '200000');
    await agent.start();
    assert.ok(agent.healthy());
    assert.match(agent.installerUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/);
    await waitUntil(() => listener.messages.some((m) => m.startsWith('READY=1')), 'READY=1', 10_000);
    await waitUntil(
      () => listener.messages.filter((m) => m === 'WATCHDOG=1').length >= 2,
      'watchdog pings',
      10_000,
    );
    const frames = await fetch(`${agent.installerUrl}api/cameras/front`).then((r) => r.json());
    await agent.stop();
    assert.ok(!agent.healthy());
    assert.ok(listener.messages.includes('STOPPING=1'));
    const messages = lines().map((l) => String(l.msg));
    const order = [
      'first start: creating the vector cache and the outbox',
      'face models loaded',
      'agent running',
    ];
    assert.deepEqual(
      order.map((m) => messages.indexOf(m)).every((v, i, a) => v >= 0 && (i === 0 || v > a[i - 1]!)),
      true,
      JSON.stringify(messages),
    );
    assert.equal((frames as { id: string }).id, 'front');
    assert.ok(messages.indexOf('agent stopped') > messages.indexOf('agent running'));
  });

  it('a taken installer port is contained: the agent runs (and stays healthy) without the view', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const agent = agentWith(parseConfig(agentConfigSchema, { ...raw, installer: { port } }, 'test'));
    try {
      await agent.start();
      assert.equal(agent.installerUrl, null);
      assert.ok(agent.healthy());
      assert.ok(lines().some((l) => l.part === 'installer view' && l.level === 50));
    } finally {
      await agent.stop();
      taken.close();
    }
  });

  it('a site key that is not 32 bytes stops the start with its own code', async () => {
    writeFileSync(join(dir, 'short-site.key'), randomBytes(16).toString('base64url'), { mode: 0o600 });
    const keys = raw.keys as Record<string, unknown>;
    const agent = agentWith(
      parseConfig(
        agentConfigSchema,
        { ...raw, keys: { ...keys, siteKeys: [{ id: 'hq.k1', key: { credential: 'short-site.key' } }] } },
        'test',
      ),
    );
    await assert.rejects(agent.start(), { code: 'TP_AGENT_SITE_KEY_INVALID' });
    assert.ok(!agent.healthy());
  });

  it('a lost store stops the start with its code and leaves the other store as it was', async () => {
    unlinkSync(join(dir, 'cache.db'));
    const outbox = readFileSync(join(dir, 'outbox.db'));
    const agent = agentWith(parseConfig(agentConfigSchema, raw, 'test'));
    await assert.rejects(agent.start(), { code: 'TP_AGENT_CACHE_MISSING' });
    assert.ok(readFileSync(join(dir, 'outbox.db')).equals(outbox), 'outbox untouched');
    assert.ok(!existsSync(join(dir, 'cache.db')), 'no empty cache made in its place');
    assert.ok(!agent.healthy());
    assert.ok(lines().some((l) => l.part === 'storage' && l.level === 60));
  });
});
