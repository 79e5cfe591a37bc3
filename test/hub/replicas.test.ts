// Two stateless hub replicas on one PostgreSQL database behind Mosquitto: MQTT 5 shared subscriptions split
// the events between them, and every event is stored exactly once, redeliveries included.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { deferrals, postgresDatabase, provision, type RunningHub, startHub, tempDir } from './harness.ts';
import { startMosquitto } from './mosquitto.ts';
import { makeIdentity, SimDevice } from './sim-device.ts';

test('two replicas on PostgreSQL + Mosquitto store every event exactly once', async (t) => {
  const defer = deferrals(t);
  const dir = tempDir();
  defer(() => dir.dispose());
  const database = await postgresDatabase();
  defer(() => database.dispose());
  const identities = await Promise.all(['cam-1', 'cam-2', 'cam-3'].map((id) => makeIdentity('site-r', id)));
  const mosquitto = await startMosquitto([
    { username: 'hub', password: 'hub-password' },
    ...identities.map((i) => ({ username: i.username, password: i.password })),
  ]);
  defer(() => mosquitto.stop());
  writeFileSync(join(dir.path, 'broker-password'), 'hub-password', { mode: 0o600 });
  const replica = (name: string) =>
    startHub({
      // Replicas share the keys (as files given to each) and nothing else.
      dataDir: join(dir.path, 'shared'),
      store: { type: 'postgres', url: database.url, poolSize: 4 },
      broker: {
        type: 'external',
        url: mosquitto.url,
        username: 'hub',
        password: { file: join(dir.path, 'broker-password') },
        clientId: name,
      },
    });
  const hubs: RunningHub[] = [];
  defer(async () => {
    for (const hub of hubs) await hub.close();
  });
  hubs.push(await replica('hub-r1'));
  hubs.push(await replica('hub-r2'));
  await provision(hubs[0]!, 'site-r', identities);

  const devices = identities.map((identity) => new SimDevice(identity, mosquitto.url));
  for (const device of devices) await device.connect();
  defer(async () => {
    for (const device of devices) await device.close();
  });
  const perDevice = 150;
  const sent = devices.map(() => [] as string[]);
  const payloads = new Map<string, string>();
  for (let i = 0; i < perDevice; i++) {
    devices.forEach((device, d) => {
      const envelope = device.next({ direction: i % 2 ? 'out' : 'in' });
      sent[d]!.push(envelope.id);
      payloads.set(envelope.id, JSON.stringify(envelope));
      device.send(envelope);
    });
    if (i % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(
    devices.map((device, d) => device.waitForAcks(sent[d]!, `acks of ${device.identity.device}`)),
  );
  // Redelivery, as after an agent reconnect: the copies may reach either replica; still stored once.
  await Promise.all(
    devices.map((device, d) => {
      const again = sent[d]!.slice(0, 20);
      for (const id of again) {
        device.acks.delete(id);
        device.publishRaw(payloads.get(id)!);
      }
      return device.waitForAcks(again, `acks of redelivered events of ${device.identity.device}`);
    }),
  );
  for (const [d, device] of devices.entries()) {
    assert.ok(
      sent[d]!.every((id) => device.acks.get(id) === 'stored'),
      device.identity.device,
    );
  }

  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  defer(() => client.end());
  const rows = await client.query<{
    device_id: string;
    n: string;
    distinct_ids: string;
    min: string;
    max: string;
  }>(
    `select device_id, count(*) as n, count(distinct event_id) as distinct_ids, min(device_seq) as min, max(device_seq) as max
       from events group by device_id order by device_id`,
  );
  assert.deepEqual(
    rows.rows.map((r) => [r.device_id, Number(r.n), Number(r.distinct_ids), Number(r.min), Number(r.max)]),
    identities.map((i) => [i.device, perDevice, perDevice, 1, perDevice]),
  );
  const ingested = hubs.map((hub) => hub.app.metrics.eventsIngested.get({ kind: 'attendance' }));
  assert.equal(
    ingested.reduce((a, b) => a + b, 0),
    identities.length * perDevice,
    'each event ingested by exactly one replica',
  );
  assert.ok(
    ingested.every((n) => n > 0),
    `both replicas took a share: ${ingested.join(' + ')}`,
  );
});
