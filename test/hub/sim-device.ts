// A simulated edge agent for the hub's end-to-end tests: an MQTT 3.1.1 client with a real Ed25519 key and
// hash chain, an outbox of unacknowledged events that it sends again after a reconnect, and everything the
// hub sends it (acks, roster changes, sync answers) kept for assertions.

import type { KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  type Ack,
  ackSchema,
  type ChainHead,
  chainStart,
  type EventEnvelope,
  generateEd25519KeyPair,
  nextEnvelope,
  publicKeyToBase64,
  type SealedRosterChange,
  type SyncResponse,
  sealedRosterChangeSchema,
  syncResponseSchema,
  topics,
  uuidv7,
} from '@truepresence/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { hashPassword } from '../../cloud-hub/src/passwords.ts';
import { waitForEvent } from '../helpers/wait.ts';

export interface DeviceIdentity {
  site: string;
  device: string;
  username: string;
  password: string;
  privateKey: KeyObject;
  publicKey: string;
  passwordHash: string;
}

/** A new device identity as provisioning would make it (the hub gets the public key and the hash). */
export async function makeIdentity(site: string, device: string): Promise<DeviceIdentity> {
  const { privateKey } = generateEd25519KeyPair();
  const password = `pw-${device}-${Math.random().toString(36).slice(2)}`;
  return {
    site,
    device,
    username: device,
    password,
    privateKey,
    publicKey: publicKeyToBase64(privateKey),
    passwordHash: await hashPassword(password, { ln: 14, r: 8, p: 1 }),
  };
}

/** The registration body of POST /api/v1/devices. */
export function registration(identity: DeviceIdentity) {
  return {
    id: identity.device,
    site: identity.site,
    publicKey: identity.publicKey,
    brokerUsername: identity.username,
    brokerPasswordHash: identity.passwordHash,
  };
}

export type AckResult = 'stored' | { code: string };

export class SimDevice extends EventEmitter {
  readonly identity: DeviceIdentity;
  readonly url: string;
  client: MqttClient | undefined;
  head: ChainHead = chainStart;
  /** Every event id the hub acknowledged, with what it said. */
  readonly acks = new Map<string, AckResult>();
  readonly roster: SealedRosterChange[] = [];
  readonly syncAnswers: SyncResponse[] = [];
  /** Sent and not yet acknowledged, oldest first: sent again on every connect. */
  readonly outbox = new Map<string, string>();

  constructor(identity: DeviceIdentity, url: string) {
    super();
    this.identity = identity;
    this.url = url;
  }

  async connect(options: { reconnect?: boolean } = {}): Promise<void> {
    const { site, device, username, password } = this.identity;
    const client = await mqtt.connectAsync(
      this.url,
      {
        protocolVersion: 4,
        clientId: device,
        username,
        password,
        clean: true,
        reconnectPeriod: options.reconnect ? 200 : 0,
        connectTimeout: 5000,
      },
      false,
    );
    this.client = client;
    const noDelay = () => (client.stream as Partial<Socket>).setNoDelay?.(true);
    noDelay();
    client.on('connect', noDelay);
    client.on('error', (error) => this.emit('mqttError', error));
    client.on('message', (topic, payload) => this.#receive(topic, payload));
    const subscribe = async () => {
      await client.subscribeAsync({
        [topics.acks(site, device)]: { qos: 1 },
        [topics.roster(site)]: { qos: 1 },
        [topics.syncResponse(site, device)]: { qos: 1 },
      });
      for (const payload of this.outbox.values())
        client.publish(topics.events(site, device), payload, { qos: 1 });
    };
    client.on('connect', () => {
      subscribe().catch((error: unknown) => this.emit('mqttError', error));
    });
    await subscribe();
  }

  #receive(topic: string, payload: Buffer): void {
    const { site, device } = this.identity;
    if (topic === topics.acks(site, device)) {
      const ack: Ack = ackSchema.parse(JSON.parse(payload.toString()));
      for (const id of ack.ids) {
        this.acks.set(id, 'stored');
        this.outbox.delete(id);
      }
      for (const r of ack.rejected) {
        this.acks.set(r.id, { code: r.code });
        this.outbox.delete(r.id);
      }
      this.emit('ack', ack);
    } else if (topic === topics.roster(site)) {
      this.roster.push(sealedRosterChangeSchema.parse(JSON.parse(payload.toString())));
      this.emit('roster');
    } else if (topic === topics.syncResponse(site, device)) {
      this.syncAnswers.push(syncResponseSchema.parse(JSON.parse(payload.toString())));
      this.emit('sync');
    }
  }

  /** The device's next signed envelope (advances its chain). */
  next(
    fields: Partial<Pick<EventEnvelope, 'kind' | 'personId' | 'direction' | 'camera' | 'capturedAt'>> = {},
  ): EventEnvelope {
    const kind = fields.kind ?? 'attendance';
    const { envelope, head } = nextEnvelope(
      this.head,
      {
        id: uuidv7(),
        site: this.identity.site,
        device: this.identity.device,
        camera: fields.camera ?? 'door-1',
        kind,
        personId: fields.personId === undefined ? (kind === 'unknown' ? null : 'person-1') : fields.personId,
        direction: fields.direction === undefined ? 'in' : fields.direction,
        capturedAt: fields.capturedAt ?? new Date().toISOString(),
        similarity: 0.71,
        margin: 0.2,
        liveness: 0.97,
        quality: 0.8,
        rosterSeq: 0,
        modelPack: 'faceplugin-default@1.0.0',
      },
      this.identity.privateKey,
    );
    this.head = head;
    return envelope;
  }

  /** Publishes an envelope and keeps it in the outbox until the hub acknowledges it. */
  send(envelope: EventEnvelope): void {
    const payload = JSON.stringify(envelope);
    this.outbox.set(envelope.id, payload);
    this.publishRaw(payload);
  }

  /** Sends every unacknowledged event again, as an agent does on its retry timer. */
  resendOutbox(): void {
    for (const payload of this.outbox.values()) this.publishRaw(payload);
  }

  publishRaw(
    payload: string | Buffer,
    topic = topics.events(this.identity.site, this.identity.device),
  ): void {
    this.client?.publish(topic, payload, { qos: 1 });
  }

  /** Resolves once every id has an ack (stored or rejected). */
  async waitForAcks(ids: readonly string[], what = `${ids.length} acks`): Promise<void> {
    if (ids.every((id) => this.acks.has(id))) return;
    await waitForEvent(this, 'ack', () => ids.every((id) => this.acks.has(id)), what, 30_000);
  }

  async requestSync(afterSeq: number): Promise<SyncResponse> {
    const requestId = uuidv7();
    const { site, device } = this.identity;
    const answered = waitForEvent(
      this,
      'sync',
      () => this.syncAnswers.some((a) => a.requestId === requestId),
      'sync answer',
    );
    this.client?.publish(
      topics.syncRequest(site, device),
      JSON.stringify({ v: 1, requestId, afterSeq, limit: 100 }),
      { qos: 1 },
    );
    await answered;
    return this.syncAnswers.find((a) => a.requestId === requestId)!;
  }

  publishStatus(status: Record<string, unknown>): void {
    const { site, device } = this.identity;
    this.client?.publish(topics.status(site, device), JSON.stringify({ v: 1, ...status }), {
      qos: 1,
      retain: true,
    });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }
}
