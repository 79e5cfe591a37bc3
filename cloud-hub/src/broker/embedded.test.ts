import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createLogger,
  generateEd25519KeyPair,
  parseConfig,
  publicKeyToBase64,
  topics,
} from '@truepresence/protocol';
import mqtt from 'mqtt';
import { waitForEvent } from '../../../test/helpers/wait.ts';
import { embeddedBrokerConfigSchema } from '../config.ts';
import { DeviceRegistry } from '../devices/registry.ts';
import { hashPassword } from '../passwords.ts';
import { type HubStore, openStore } from '../store/index.ts';
import type { BrokerMessage } from './broker.ts';
import { EmbeddedBroker } from './embedded.ts';

const logger = createLogger({ level: 'silent', name: 'test' });

describe('embedded broker: device logins and ACL', () => {
  let dir: string;
  let store: HubStore;
  let registry: DeviceRegistry;
  let broker: EmbeddedBroker;
  const received: BrokerMessage[] = [];
  const arrivals = new EventEmitter();
  const url = () => `mqtt://127.0.0.1:${broker.address()!.port}`;
  const connect = (username: string, password: string, options: mqtt.IClientOptions = {}) =>
    mqtt.connectAsync(
      url(),
      { protocolVersion: 4, username, password, reconnectPeriod: 0, clientId: username, ...options },
      false,
    );
  const startBroker = async () => {
    broker = new EmbeddedBroker(
      parseConfig(embeddedBrokerConfigSchema, { type: 'embedded', port: 0 }, 'test'),
      dir,
      registry,
      logger,
    );
    broker.onMessage((message) => {
      received.push(message);
      arrivals.emit('message');
    });
    await broker.start();
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tp-broker-'));
    store = openStore({ type: 'sqlite', path: join(dir, 'hub.sqlite'), busyTimeoutMs: 1000 }, logger);
    await store.start();
    await store.createSite({ id: 'site-a', name: 'A', timeZone: 'UTC' });
    await store.createSite({ id: 'site-b', name: 'B', timeZone: 'UTC' });
    for (const [id, site] of [
      ['cam-1', 'site-a'],
      ['cam-2', 'site-a'],
      ['cam-9', 'site-b'],
    ] as const) {
      await store.registerDevice({
        id,
        siteId: site,
        publicKey: publicKeyToBase64(generateEd25519KeyPair().privateKey),
        brokerUsername: id,
        brokerPasswordHash: await hashPassword(`pw-${id}`, { ln: 14, r: 8, p: 1 }),
      });
    }
    registry = new DeviceRegistry(store, { cacheSeconds: 5 }, logger);
    await startBroker();
  });

  after(async () => {
    await broker.stop();
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('only registered, active devices with the right password log in', async () => {
    await assert.rejects(connect('cam-1', 'wrong'), /Bad username or password/);
    await assert.rejects(connect('nobody', 'pw-nobody'), /Bad username or password/);
    const client = await connect('cam-1', 'pw-cam-1');
    assert.equal(client.connected, true);
    await client.endAsync();
  });

  test('a device subscribes only to its site roster and its own acks and sync answers', async () => {
    const client = await connect('cam-1', 'pw-cam-1');
    // mqtt.js rejects a SUBACK with any refusal in it; the packet says which filters were refused.
    const suback = await client
      .subscribeAsync({
        [topics.roster('site-a')]: { qos: 1 },
        [topics.acks('site-a', 'cam-1')]: { qos: 1 },
        [topics.syncResponse('site-a', 'cam-1')]: { qos: 1 },
        [topics.roster('site-b')]: { qos: 1 },
        [topics.acks('site-a', 'cam-2')]: { qos: 1 },
        [topics.events('site-a', 'cam-2')]: { qos: 1 },
        'tp/v1/#': { qos: 1 },
      })
      .then(
        () => assert.fail('refused filters must fail the subscription'),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
      );
    assert.deepEqual(suback, [1, 1, 1, 128, 128, 128, 128]);
    await client.endAsync();
  });

  test('a device publishes under its own topics only; anything else closes its connection', async () => {
    received.length = 0;
    const client = await connect('cam-1', 'pw-cam-1');
    await client.publishAsync(topics.events('site-a', 'cam-1'), '{"own":1}', { qos: 1 });
    await client.publishAsync(topics.status('site-a', 'cam-1'), '{"v":1,"state":"online"}', {
      qos: 1,
      retain: true,
    });
    if (received.length < 2)
      await waitForEvent(arrivals, 'message', () => received.length === 2, 'two messages');
    assert.deepEqual(
      received.map((m) => m.topic),
      [topics.events('site-a', 'cam-1'), topics.status('site-a', 'cam-1')],
    );
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.publish(topics.events('site-a', 'cam-2'), '{"forged":1}', { qos: 1 });
    await closed;
    const retainer = await connect('cam-1', 'pw-cam-1');
    const closedToo = new Promise<void>((resolve) => retainer.once('close', () => resolve()));
    retainer.publish(topics.events('site-a', 'cam-1'), '{"retained":1}', { qos: 1, retain: true });
    await closedToo;
    assert.equal(received.length, 2, 'the hub saw neither the forged nor the retained event');
    await client.endAsync(true);
    await retainer.endAsync(true);
  });

  test('a device cannot take over the MQTT session of another device', async () => {
    const owner = await connect('cam-1', 'pw-cam-1', { clientId: 'shared-id' });
    await assert.rejects(connect('cam-2', 'pw-cam-2', { clientId: 'shared-id' }), /Not authorized/);
    assert.equal(owner.connected, true);
    await owner.endAsync();
  });

  test('revocation closes live sessions and refuses later logins', async () => {
    const client = await connect('cam-2', 'pw-cam-2');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    const revoked = await store.revokeDevice('cam-2');
    registry.revoked(revoked);
    broker.disconnectDevice('cam-2');
    await closed;
    await assert.rejects(connect('cam-2', 'pw-cam-2'), /Bad username or password/);
    await client.endAsync(true);
  });

  test('messages queued for an offline agent survive a broker restart (level persistence)', async () => {
    const ackTopic = topics.acks('site-b', 'cam-9');
    const agent = await connect('cam-9', 'pw-cam-9', { clean: false });
    await agent.subscribeAsync(ackTopic, { qos: 1 });
    await agent.endAsync();
    await broker.publish(ackTopic, '{"v":1,"ids":[],"rejected":[]}', { qos: 1 });
    await broker.stop();
    await startBroker();
    const back = await connect('cam-9', 'pw-cam-9', { clean: false });
    const [topic, payload] = await new Promise<[string, Buffer]>((resolve) =>
      back.once('message', (t, p) => resolve([t, p])),
    );
    assert.equal(topic, ackTopic);
    assert.equal(payload.toString(), '{"v":1,"ids":[],"rejected":[]}');
    await back.endAsync();
  });
});
