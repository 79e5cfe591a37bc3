// End to end over the embedded broker (aedes): simulated agents publish signed events to a real hub and get
// acks only for what was committed; every kind of bad input is refused with its code while the hub stays
// up; a hub killed with SIGKILL mid-stream loses nothing it acknowledged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ChainHead, generateEd25519KeyPair, nextEnvelope, uuidv7 } from '@truepresence/protocol';
import { freePort } from '../helpers/ports.ts';
import { stopProcess, track } from '../helpers/processes.ts';
import { deferrals, provision, type RunningHub, startHub, tempDir } from './harness.ts';
import { makeIdentity, registration, SimDevice } from './sim-device.ts';

const root = join(import.meta.dirname, '..', '..');

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('hub over the embedded broker', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let cam1: SimDevice;
  let cam2: SimDevice;

  before(async () => {
    hub = await startHub({
      dataDir: dir.path,
      store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
    });
    const [id1, id2] = await Promise.all([makeIdentity('site-a', 'cam-1'), makeIdentity('site-a', 'cam-2')]);
    await provision(hub, 'site-a', [id1, id2]);
    cam1 = new SimDevice(id1, hub.brokerUrl!);
    cam2 = new SimDevice(id2, hub.brokerUrl!);
    await cam1.connect();
    await cam2.connect();
  });

  after(async () => {
    await cam1?.close();
    await cam2?.close();
    await hub?.close();
    dir.dispose();
  });

  test('signed events are stored once and acknowledged after the commit; redelivery is harmless', async () => {
    const sent = Array.from({ length: 50 }, (_, i) => cam1.next({ direction: i % 2 ? 'out' : 'in' }));
    for (const envelope of sent) cam1.send(envelope);
    await cam1.waitForAcks(sent.map((e) => e.id));
    assert.ok(sent.every((e) => cam1.acks.get(e.id) === 'stored'));
    for (const envelope of sent.slice(0, 5)) {
      cam1.acks.delete(envelope.id);
      cam1.send(envelope);
    }
    await cam1.waitForAcks(sent.slice(0, 5).map((e) => e.id));
    assert.ok(sent.slice(0, 5).every((e) => cam1.acks.get(e.id) === 'stored'));
    const page = await hub.api<{ events: Array<{ eventId: string; deviceSeq: number }> }>(
      'GET',
      '/api/v1/events?siteId=site-a&deviceId=cam-1&order=asc&limit=1000',
    );
    assert.deepEqual(
      page.events.map((e) => e.eventId),
      sent.map((e) => e.id),
    );
    const metrics = (await hub.app.inject({ url: '/metrics' })).body;
    assert.equal(metric(metrics, 'tp_hub_events_ingested_total', '{kind="attendance"}'), 50);
    assert.equal(metric(metrics, 'tp_hub_events_duplicate_total'), 5);
    assert.ok(metric(metrics, 'tp_hub_ack_latency_seconds_count') >= 55);
  });

  test('forged, misaddressed, replayed, malformed, oversize and non-UTF-8 payloads are refused with their codes', async () => {
    // Envelopes made without moving the device's chain on, so that only `original` takes a seq.
    const peek = (device: SimDevice) => {
      const head = device.head;
      const envelope = device.next();
      device.head = head;
      return envelope;
    };
    const forged = { ...peek(cam1), sig: 'A'.repeat(86) };
    const other = peek(cam2);
    const replay = peek(cam1);
    const original = cam1.next();
    const noSignature: Record<string, unknown> = { ...peek(cam1) };
    delete noSignature.sig;
    const oversizeId = uuidv7();
    const oversize = JSON.stringify({ id: oversizeId, padding: 'x'.repeat(17 * 1024) });

    cam1.send(original);
    await cam1.waitForAcks([original.id]);
    cam1.send(forged);
    cam1.send(other);
    cam1.send(replay);
    cam1.publishRaw(JSON.stringify(noSignature));
    cam1.publishRaw(oversize);
    cam1.publishRaw('{"v":1,"id":');
    cam1.publishRaw(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    await cam1.waitForAcks([forged.id, other.id, replay.id, noSignature.id as string, oversizeId]);

    assert.deepEqual(cam1.acks.get(original.id), 'stored');
    assert.deepEqual(cam1.acks.get(forged.id), { code: 'TP_PROTO_SIGNATURE_BAD' });
    assert.deepEqual(cam1.acks.get(other.id), { code: 'TP_PROTO_DEVICE_MISMATCH' });
    assert.deepEqual(cam1.acks.get(replay.id), { code: 'TP_PROTO_REPLAY' });
    assert.deepEqual(cam1.acks.get(noSignature.id as string), { code: 'TP_PROTO_SCHEMA' });
    assert.deepEqual(cam1.acks.get(oversizeId), { code: 'TP_PROTO_PAYLOAD_TOO_LARGE' });

    // The hub is still up and still stores what is good.
    const good = cam1.next();
    cam1.send(good);
    await cam1.waitForAcks([good.id]);
    assert.equal(cam1.acks.get(good.id), 'stored');
    const metrics = (await hub.app.inject({ url: '/metrics' })).body;
    for (const code of ['TP_PROTO_PAYLOAD_NOT_JSON', 'TP_PROTO_PAYLOAD_NOT_UTF8', 'TP_PROTO_SIGNATURE_BAD']) {
      assert.equal(metric(metrics, 'tp_hub_events_rejected_total', `{code="${code}"}`), 1, code);
    }
    const { alerts } = await hub.api<{ alerts: Array<{ kind: string; deviceId: string }> }>(
      'GET',
      '/api/v1/alerts?deviceId=cam-1',
    );
    assert.deepEqual(
      new Set(alerts.map((a) => a.kind)),
      new Set(['signature_bad', 'device_mismatch', 'replay']),
    );
    const stored = await hub.api<{ eventId: string }>('GET', `/api/v1/events/${original.id}`);
    assert.equal(stored.eventId, original.id);
    await hub.api('GET', `/api/v1/events/${replay.id}`, undefined, 404);
  });

  test('a gap and a broken link are stored and raised as alerts; a late event fills the gap and resolves its alert', async () => {
    const missing = cam2.next();
    const afterGap = cam2.next();
    cam2.send(afterGap);
    await cam2.waitForAcks([afterGap.id]);
    cam2.send(missing);
    await cam2.waitForAcks([missing.id]);
    const rogue: ChainHead = { seq: cam2.head.seq, hash: 'f'.repeat(64) };
    const { v: _v, seq: _seq, prev: _prev, sig: _sig, ...fields } = afterGap;
    const { envelope: broken, head } = nextEnvelope(
      rogue,
      { ...fields, id: uuidv7() },
      cam2.identity.privateKey,
    );
    cam2.head = head;
    cam2.send(broken);
    await cam2.waitForAcks([broken.id]);
    assert.equal(cam2.acks.get(afterGap.id), 'stored');
    assert.equal(cam2.acks.get(missing.id), 'stored');
    assert.equal(cam2.acks.get(broken.id), 'stored');
    type Listed = { kind: string; details: Record<string, unknown>; resolution: string | null };
    const { alerts } = await hub.api<{ alerts: Listed[] }>(
      'GET',
      '/api/v1/alerts?deviceId=cam-2&kind=sequence_gap,chain_break',
    );
    assert.deepEqual(alerts.map((a) => [a.kind, a.details.seq, a.resolution]).sort(), [
      ['chain_break', broken.seq, null],
      ['sequence_gap', afterGap.seq, 'gap filled: the missing events arrived late'],
    ]);
    const open = await hub.api<{ alerts: Listed[] }>(
      'GET',
      '/api/v1/alerts?deviceId=cam-2&kind=sequence_gap,chain_break&unacknowledged=true',
    );
    assert.deepEqual(
      open.alerts.map((a) => a.kind),
      ['chain_break'],
      'the filled gap no longer shows as open',
    );
  });

  test('a revoked device is cut off by the broker and refused at login', async () => {
    const closed = new Promise<void>((resolve) => cam2.client!.once('close', () => resolve()));
    await hub.api('POST', '/api/v1/devices/cam-2/revoke');
    await closed;
    await assert.rejects(new SimDevice(cam2.identity, hub.brokerUrl!).connect(), /Bad username or password/);
    const unknown = await makeIdentity('site-a', 'cam-ghost');
    await assert.rejects(new SimDevice(unknown, hub.brokerUrl!).connect(), /Bad username or password/);
    const device = await hub.api<{ status: string; online: boolean }>('GET', '/api/v1/devices/cam-2');
    assert.equal(device.status, 'revoked');
  });

  test('the hub loses nothing it acknowledged when killed with SIGKILL mid-stream', async (t) => {
    const defer = deferrals(t);
    const work = tempDir();
    defer(() => work.dispose());
    const port = await freePort();
    const dataDir = join(work.path, 'data');
    const configPath = join(work.path, 'hub.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        dataDir,
        http: { port: 0 },
        store: { type: 'sqlite', path: join(work.path, 'hub.sqlite') },
        broker: { type: 'embedded', port },
      }),
    );
    /** Starts main.ts and resolves with the process and its HTTP address once it says "hub ready". */
    const startChild = () => {
      const child = track(
        spawn(
          process.execPath,
          ['--import', 'tsx', join(root, 'cloud-hub', 'src', 'main.ts'), '--config', configPath],
          {
            cwd: root,
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        ),
      );
      return new Promise<{ child: typeof child; http: string }>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const ready = out.split('\n').find((line) => line.includes('"hub ready"'));
          if (ready) resolve({ child, http: (JSON.parse(ready) as { address: string }).address });
        });
        child.stderr.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        child.once('exit', (code) => reject(new Error(`hub exited (${code}) before it was ready: ${out}`)));
      });
    };
    const api = async (http: string, method: string, path: string, body?: unknown) => {
      const token = readFileSync(join(dataDir, 'keys', 'admin-api-token'), 'utf8').trim();
      const response = await fetch(`${http}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
      return response.json() as Promise<Record<string, unknown>>;
    };

    let hub = await startChild();
    defer(() => stopProcess(hub.child));
    const identity = await makeIdentity('site-k', 'cam-k');
    await api(hub.http, 'POST', '/api/v1/sites', { id: 'site-k', name: 'K' });
    await api(hub.http, 'POST', '/api/v1/devices', registration(identity));
    const device = new SimDevice(identity, `mqtt://127.0.0.1:${port}`);
    await device.connect({ reconnect: true });
    defer(() => device.close());
    const sent: string[] = [];
    const acknowledged = () => sent.filter((id) => device.acks.get(id) === 'stored');
    let acknowledgedBeforeKill: string[] | undefined;
    const total = 300;
    for (let i = 0; i < total; i++) {
      const envelope = device.next();
      sent.push(envelope.id);
      device.send(envelope);
      // Killed while events are in flight: some acknowledged, some committed but not yet acknowledged, some not
      // yet received.
      if (!acknowledgedBeforeKill && acknowledged().length >= 50) {
        acknowledgedBeforeKill = acknowledged();
        hub.child.kill('SIGKILL');
        await new Promise((resolve) => hub.child.once('exit', resolve));
        hub = await startChild();
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await device.waitForAcks(sent, `${total} acks after the restart`);
    assert.ok(
      acknowledgedBeforeKill && acknowledgedBeforeKill.length < total,
      'the hub was killed mid-stream',
    );
    assert.ok(sent.every((id) => device.acks.get(id) === 'stored'));
    const stored = (await api(hub.http, 'GET', '/api/v1/events?deviceId=cam-k&order=asc&limit=1000')) as {
      events: Array<{ eventId: string }>;
    };
    assert.deepEqual(
      stored.events.map((e) => e.eventId),
      sent,
      'every event stored exactly once, in chain order, those acknowledged before the kill included',
    );
  });
});

test('a device key that never registered cannot forge its way in through a registered login', async (t) => {
  const defer = deferrals(t);
  const dir = tempDir();
  defer(() => dir.dispose());
  const hub = await startHub({
    dataDir: dir.path,
    store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
  });
  defer(() => hub.close());
  const identity = await makeIdentity('site-a', 'cam-1');
  await provision(hub, 'site-a', [identity]);
  const impostor = new SimDevice(
    { ...identity, privateKey: generateEd25519KeyPair().privateKey },
    hub.brokerUrl!,
  );
  await impostor.connect();
  defer(() => impostor.close());
  const envelope = impostor.next();
  impostor.send(envelope);
  await impostor.waitForAcks([envelope.id]);
  assert.deepEqual(impostor.acks.get(envelope.id), { code: 'TP_PROTO_SIGNATURE_BAD' });
});
