// A minimal hub stand-in over a real broker, for the agent's end-to-end tests until the real hub runs them:
// it verifies and stores events by id, acks after storing, answers sync requests and publishes roster
// changes, all through the protocol workspace.
import { type KeyObject, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  type Ack,
  type ChainVerdict,
  checkChain,
  type DeviceKeyInfo,
  decodePayload,
  type EventEnvelope,
  type HubSigningKey,
  isTpError,
  MAX_BYTES,
  PROTOCOL_VERSION,
  ProtocolErrorCode,
  parseTopic,
  type RosterChange,
  type SealedRosterChange,
  type SiteKey,
  type Status,
  type SyncResponse,
  sealRosterChange,
  statusSchema,
  syncRequestSchema,
  topics,
  verifyEvent,
} from '@truepresence/protocol';
import mqtt, { type MqttClient } from 'mqtt';

export interface PeerOptions {
  url: string;
  site: string;
  siteKey: SiteKey;
  hubKey: HubSigningKey;
  username?: string;
  password?: string;
}

export interface StoredEvent {
  envelope: EventEnvelope;
  hash: string;
}

export interface PeerEvents {
  stored: [EventEnvelope];
  syncRequest: [{ device: string; afterSeq: number }];
  status: [{ device: string; status: Status }];
}

export type ChangeFields = Pick<RosterChange, 'kind' | 'personId' | 'templates'>;

export class TestPeer extends EventEmitter<PeerEvents> {
  /** Stored events by id: each id once. */
  readonly events = new Map<string, StoredEvent>();
  /** Event messages received, duplicates included. */
  deliveries = 0;
  /** Chain verdicts other than `linked` and `duplicate`, and refused events, with their codes. */
  readonly alerts: Array<{ device: string; code: string }> = [];
  readonly statuses = new Map<string, Status>();
  /** The site's sealed roster changes, in seq order. */
  readonly changes: SealedRosterChange[] = [];
  readonly #devices = new Map<string, DeviceKeyInfo>();
  readonly #chains = new Map<string, { bySeq: Map<number, StoredEvent>; highest: number }>();
  readonly #pendingAcks = new Map<string, Ack>();
  #client: MqttClient | null = null;

  constructor(private readonly options: PeerOptions) {
    super();
  }

  registerDevice(device: string, publicKey: KeyObject): void {
    this.#devices.set(device, { publicKey, revoked: false });
  }

  async start(): Promise<void> {
    const client = await mqtt.connectAsync(this.options.url, {
      protocolVersion: 4,
      clientId: `tp-test-peer-${randomUUID()}`,
      clean: true,
      reconnectPeriod: 100,
      ...(this.options.username === undefined ? {} : { username: this.options.username }),
      ...(this.options.password === undefined ? {} : { password: this.options.password }),
    });
    // As the hub's client of an external broker: acks must leave at once, not wait for Nagle's algorithm.
    const noDelay = () => (client.stream as Partial<Socket>).setNoDelay?.(true);
    noDelay();
    client.on('connect', noDelay);
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    const site = this.options.site;
    await client.subscribeAsync({
      [`tp/v1/${site}/+/events`]: { qos: 1 },
      [`tp/v1/${site}/+/sync/req`]: { qos: 1 },
      [`tp/v1/${site}/+/status`]: { qos: 1 },
    });
    this.#client = client;
  }

  async stop(): Promise<void> {
    await this.#client?.endAsync();
    this.#client = null;
  }

  /** Seals the site's next change and (unless `live` is false) publishes it on the roster topic. */
  async change(fields: ChangeFields, live = true): Promise<SealedRosterChange> {
    const change: RosterChange = {
      v: PROTOCOL_VERSION,
      site: this.options.site,
      seq: this.changes.length + 1,
      issuedAt: new Date().toISOString(),
      ...fields,
    };
    const sealed = sealRosterChange(change, this.options.siteKey, this.options.hubKey);
    this.changes.push(sealed);
    if (live) await this.publish(topics.roster(this.options.site), JSON.stringify(sealed));
    return sealed;
  }

  async publish(topic: string, payload: string | Buffer): Promise<void> {
    await this.#client!.publishAsync(topic, payload, { qos: 1 });
  }

  /** The device's stored events in seq order, and whether they form an unbroken chain from seq 1. */
  chain(device: string): { seqs: number[]; gapFree: boolean } {
    const chain = this.#chains.get(device)?.bySeq ?? new Map<number, StoredEvent>();
    const seqs = [...chain.keys()].sort((a, b) => a - b);
    const gapFree = seqs.every((seq, i) => {
      if (seq !== i + 1) return false;
      const previous = chain.get(seq - 1);
      return previous === undefined || chain.get(seq)!.envelope.prev === previous.hash;
    });
    return { seqs, gapFree };
  }

  #onMessage(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    if (parsed.kind === 'events') this.#onEvent(parsed.device, payload);
    else if (parsed.kind === 'syncRequest') this.#onSyncRequest(parsed.device, payload);
    else if (parsed.kind === 'status') {
      const status = decodePayload(statusSchema, payload, MAX_BYTES.status, 'status');
      this.statuses.set(parsed.device, status);
      this.emit('status', { device: parsed.device, status });
    }
  }

  #onEvent(device: string, payload: Buffer): void {
    this.deliveries++;
    let verified: StoredEvent;
    try {
      verified = verifyEvent(payload, {
        topic: { site: this.options.site, device },
        lookupKey: (site, id) => (site === this.options.site ? this.#devices.get(id) : undefined),
      });
    } catch (error) {
      this.alerts.push({ device, code: isTpError(error) ? error.code : 'unknown' });
      return;
    }
    const { envelope } = verified;
    const chain = this.#chains.get(device) ?? { bySeq: new Map<number, StoredEvent>(), highest: 0 };
    this.#chains.set(device, chain);
    const sameId = this.events.get(envelope.id);
    const verdict: ChainVerdict = checkChain(verified, {
      sameId: sameId && { seq: sameId.envelope.seq, hash: sameId.hash },
      sameSeq: chain.bySeq.has(envelope.seq) ? { id: chain.bySeq.get(envelope.seq)!.envelope.id } : undefined,
      previous: chain.bySeq.get(envelope.seq - 1),
      next: chain.bySeq.get(envelope.seq + 1)?.envelope,
      highestSeq: chain.highest,
    });
    const ack = this.#ackFor(device);
    if (verdict.status === 'replay') {
      this.alerts.push({ device, code: verdict.code });
      ack.rejected.push({ id: envelope.id, code: verdict.code });
      return;
    }
    if (verdict.status !== 'duplicate') {
      if (verdict.status !== 'linked') this.alerts.push({ device, code: verdict.code });
      this.events.set(envelope.id, verified);
      chain.bySeq.set(envelope.seq, verified);
      chain.highest = Math.max(chain.highest, envelope.seq);
      this.emit('stored', envelope);
    }
    ack.ids.push(envelope.id);
  }

  /** Acks are collected over one turn of the event loop and sent together, at most 1,000 ids each. */
  #ackFor(device: string): Ack {
    let ack = this.#pendingAcks.get(device);
    if (ack && ack.ids.length + ack.rejected.length < 1000) return ack;
    if (ack) this.#flushAck(device);
    ack = { v: PROTOCOL_VERSION, ids: [], rejected: [] };
    this.#pendingAcks.set(device, ack);
    setImmediate(() => this.#flushAck(device));
    return ack;
  }

  #flushAck(device: string): void {
    const ack = this.#pendingAcks.get(device);
    if (!ack) return;
    this.#pendingAcks.delete(device);
    this.#client?.publish(topics.acks(this.options.site, device), JSON.stringify(ack), { qos: 1 });
  }

  #onSyncRequest(device: string, payload: Buffer): void {
    const request = decodePayload(syncRequestSchema, payload, MAX_BYTES.syncRequest, 'sync request');
    this.emit('syncRequest', { device, afterSeq: request.afterSeq });
    const after = this.changes.filter((c) => c.seq > request.afterSeq);
    const response: SyncResponse = {
      v: PROTOCOL_VERSION,
      requestId: request.requestId,
      changes: this.#devices.has(device) ? after.slice(0, request.limit) : [],
      currentSeq: this.changes.length,
      more: this.#devices.has(device) && after.length > request.limit,
      ...(this.#devices.has(device) ? {} : { error: ProtocolErrorCode.keyUnknown }),
    };
    this.#client?.publish(topics.syncResponse(this.options.site, device), JSON.stringify(response), {
      qos: 1,
    });
  }
}
