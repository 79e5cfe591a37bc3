// End to end over an external broker (Mosquitto 2 with a password file and an ACL): the hub connects as an
// MQTT 5 client with shared subscriptions. Mosquitto authenticates the devices, so the hub's own checks are
// what refuse an unknown or revoked device; bad payloads are refused with their codes while the hub stays up;
// a hub restarted mid-stream loses nothing it acknowledged.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { topics, uuidv7 } from '@truepresence/protocol';
import { provision, type RunningHub, startHub, tempDir } from './harness.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type DeviceIdentity, makeIdentity, SimDevice } from './sim-device.ts';

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('hub over Mosquitto', () => {
  const dir = tempDir();
  let mosquitto: Mosquitto;
  let hub: RunningHub;
  let ids: Record<'cam1' | 'cam2' | 'ghost', DeviceIdentity>;
  let cam1: SimDevice;
  const config = () => ({
    dataDir: join(dir.path, 'data'),
    store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
    broker: {
      type: 'external',
      url: mosquitto.url,
      username: 'hub',
      password: { file: join(dir.path, 'broker-password') },
    },
  });

  before(async () => {
    ids = {
      cam1: await makeIdentity('site-a', 'cam-1'),
      cam2: await makeIdentity('site-a', 'cam-2'),
      ghost: await makeIdentity('site-a', 'cam-ghost'),
    };
    writeFileSync(join(dir.path, 'broker-password'), 'hub-password', { mode: 0o600 });
    mosquitto = await startMosquitto([
      { username: 'hub', password: 'hub-password' },
      ...Object.values(ids).map((i) => ({ username: i.username, password: i.password })),
    ]);
    hub = await startHub(config());
    await provision(hub, 'site-a', [ids.cam1, ids.cam2]);
    cam1 = new SimDevice(ids.cam1, mosquitto.url);
    await cam1.connect();
  });

  after(async () => {
    await cam1?.close();
    await hub?.close();
    await mosquitto?.stop();
    dir.dispose();
  });

  test('signed events through Mosquitto are stored and acknowledged', async () => {
    const sent = Array.from({ length: 30 }, () => cam1.next());
    for (const envelope of sent) cam1.send(envelope);
    await cam1.waitForAcks(sent.map((e) => e.id));
    assert.ok(sent.every((e) => cam1.acks.get(e.id) === 'stored'));
  });

  test('unknown and revoked devices, forgeries, wrong topics, replays and bad payloads are refused with their codes', async () => {
    // cam-ghost has a Mosquitto login but was never registered with the hub.
    const ghost = new SimDevice(ids.ghost, mosquitto.url);
    await ghost.connect();
    const cam2 = new SimDevice(ids.cam2, mosquitto.url);
    await cam2.connect();
    try {
      const fromGhost = ghost.next();
      ghost.send(fromGhost);
      await hub.api('POST', '/api/v1/devices/cam-2/revoke', { site: 'site-a', id: 'cam-2', reason: 'test' });
      const fromRevoked = cam2.next();
      cam2.send(fromRevoked);
      // Envelopes made without moving cam-1's chain on, so that only `original` and `good` take a seq.
      const peek = (device: SimDevice) => {
        const head = device.head;
        const envelope = device.next();
        device.head = head;
        return envelope;
      };
      const forged = { ...peek(cam1), sig: 'B'.repeat(86) };
      const misaddressed = peek(cam2);
      const replay = peek(cam1);
      const original = cam1.next();
      const oversizeId = uuidv7();
      cam1.send(original);
      await cam1.waitForAcks([original.id]);
      cam1.send(forged);
      cam1.send(misaddressed);
      cam1.send(replay);
      cam1.publishRaw('not json at all');
      cam1.publishRaw(JSON.stringify({ id: oversizeId, padding: 'y'.repeat(20_000) }));
      // Mosquitto's ACL drops a publish under another device's topic before the hub could see it.
      const intruder = peek(cam1);
      cam1.publishRaw(JSON.stringify(intruder), topics.events('site-a', 'cam-2'));
      await ghost.waitForAcks([fromGhost.id]);
      await cam2.waitForAcks([fromRevoked.id]);
      await cam1.waitForAcks([forged.id, misaddressed.id, replay.id, oversizeId]);
      assert.deepEqual(ghost.acks.get(fromGhost.id), { code: 'TP_PROTO_KEY_UNKNOWN' });
      assert.deepEqual(cam2.acks.get(fromRevoked.id), { code: 'TP_PROTO_KEY_REVOKED' });
      assert.deepEqual(cam1.acks.get(forged.id), { code: 'TP_PROTO_SIGNATURE_BAD' });
      assert.deepEqual(cam1.acks.get(misaddressed.id), { code: 'TP_PROTO_DEVICE_MISMATCH' });
      assert.deepEqual(cam1.acks.get(replay.id), { code: 'TP_PROTO_REPLAY' });
      assert.deepEqual(cam1.acks.get(oversizeId), { code: 'TP_PROTO_PAYLOAD_TOO_LARGE' });

      const good = cam1.next();
      cam1.send(good);
      await cam1.waitForAcks([good.id]);
      assert.equal(cam1.acks.get(good.id), 'stored', 'the hub is still up');
      assert.equal(cam1.acks.has(intruder.id), false);
      await hub.api('GET', `/api/v1/events/${intruder.id}`, undefined, 404);
      const metrics = (await hub.app.inject({ url: '/metrics' })).body;
      assert.equal(metric(metrics, 'tp_hub_events_rejected_total', '{code="TP_PROTO_PAYLOAD_NOT_JSON"}'), 1);
      const { alerts } = await hub.api<{ alerts: Array<{ kind: string; deviceId: string }> }>(
        'GET',
        '/api/v1/alerts?siteId=site-a',
      );
      for (const [kind, device] of [
        ['unknown_device', 'cam-ghost'],
        ['revoked_device', 'cam-2'],
        ['signature_bad', 'cam-1'],
        ['device_mismatch', 'cam-1'],
        ['replay', 'cam-1'],
      ]) {
        assert.ok(
          alerts.some((a) => a.kind === kind && a.deviceId === device),
          `${kind} alert for ${device}`,
        );
      }
    } finally {
      await ghost.close();
      await cam2.close();
    }
  });

  test('a hub restarted mid-stream loses nothing it acknowledged', async () => {
    const sent: string[] = [];
    const acknowledged = () => sent.filter((id) => cam1.acks.get(id) === 'stored');
    let before: string[] | undefined;
    for (let i = 0; i < 150; i++) {
      const envelope = cam1.next();
      sent.push(envelope.id);
      cam1.send(envelope);
      if (!before && acknowledged().length >= 40) {
        before = acknowledged();
        await hub.close();
        hub = await startHub(config());
        // The agent's retry timer: whatever was not acknowledged goes out again.
        cam1.resendOutbox();
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await cam1.waitForAcks(sent, 'every event acknowledged after the restart');
    assert.ok(before && before.length < sent.length, 'restarted mid-stream');
    const { events } = await hub.api<{ events: Array<{ eventId: string }> }>(
      'GET',
      '/api/v1/events?deviceId=cam-1&order=asc&limit=1000',
    );
    const stored = new Set(events.map((e) => e.eventId));
    assert.equal(stored.size, events.length, 'each id stored once');
    assert.ok(sent.every((id) => stored.has(id)));
    assert.ok(before.every((id) => stored.has(id)));
  });
});
