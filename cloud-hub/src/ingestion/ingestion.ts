// Event ingestion: every envelope is verified (schema, device registered and active, topic, signature),
// placed in its device's hash chain against what is stored (gap and break kept as alerts, a gap's alert
// resolved once late events fill it, replays refused, each id stored once), committed in micro-batches, and
// only then acknowledged to its agent. A refused event
// is acknowledged in `rejected` with its code, so the agent keeps it aside instead of resending it forever.
// Nothing a device sends can throw out of `handle`.
import { EventEmitter } from 'node:events';
import {
  type ChainNeighbours,
  checkChain,
  type EventEnvelope,
  isTpError,
  type Logger,
  PROTOCOL_VERSION,
  ProtocolErrorCode,
  topics,
  type VerifiedEvent,
} from '@truepresence/protocol';
import type { BrokerMessage, HubBroker } from '../broker/broker.ts';
import type { HubConfig } from '../config.ts';
import type { AlertThrottle } from '../devices/alert-throttle.ts';
import type { DeviceRegistry } from '../devices/registry.ts';
import { HubErrorCode } from '../errors.ts';
import type { HubMetrics } from '../metrics.ts';
import type { AlertKind, HubRepository, HubStore, NewEvent } from '../store/index.ts';
import type { VerifierPool } from './verifier-pool.ts';

interface Accepted {
  verified: VerifiedEvent;
  /** The signed JSON exactly as received (stored as the evidence). */
  text: string;
  receivedAt: number;
}

interface Refused {
  site: string;
  device: string;
  id: string | undefined;
  code: string;
  receivedAt: number;
}

interface PendingAck {
  site: string;
  device: string;
  ids: string[];
  rejected: Array<{ id: string; code: string }>;
  receivedAt: number[];
}

type Outcome =
  | { status: 'stored'; event: NewEvent }
  | { status: 'duplicate' }
  | { status: 'rejected'; code: string };

/** Alert kinds raised by refused events, by protocol code. */
const alertOfCode: Partial<Record<string, AlertKind>> = {
  [ProtocolErrorCode.signatureBad]: 'signature_bad',
  [ProtocolErrorCode.keyUnknown]: 'unknown_device',
  [ProtocolErrorCode.keyRevoked]: 'revoked_device',
  [ProtocolErrorCode.deviceMismatch]: 'device_mismatch',
  [ProtocolErrorCode.replay]: 'replay',
};

const maxIdsPerAck = 1000;
function toNewEvent({ verified, text, receivedAt }: Accepted): NewEvent {
  const e = verified.envelope;
  return {
    eventId: e.id,
    deviceId: e.device,
    siteId: e.site,
    cameraId: e.camera,
    kind: e.kind,
    personId: e.personId,
    direction: e.direction,
    capturedAt: Date.parse(e.capturedAt),
    similarity: e.similarity,
    margin: e.margin,
    liveness: e.liveness,
    quality: e.quality,
    rosterSeq: e.rosterSeq,
    modelPackVersion: e.modelPack,
    deviceSeq: e.seq,
    prevHash: e.prev,
    envelopeHash: verified.hash,
    envelope: text,
    receivedAt,
  };
}

/** Events of this batch that are decided but not yet inserted, so that later ones link to them. */
class BatchChains {
  readonly #bySeq = new Map<string, Map<number, { id: string; hash: string; prev: string }>>();
  readonly #byId = new Map<string, { seq: number; hash: string }>();
  readonly #highest = new Map<string, number>();

  add(envelope: EventEnvelope, hash: string): void {
    this.#highest.set(envelope.device, Math.max(this.#highest.get(envelope.device) ?? 0, envelope.seq));
    let chain = this.#bySeq.get(envelope.device);
    if (!chain) {
      chain = new Map();
      this.#bySeq.set(envelope.device, chain);
    }
    chain.set(envelope.seq, { id: envelope.id, hash, prev: envelope.prev });
    this.#byId.set(envelope.id, { seq: envelope.seq, hash });
  }

  merge(envelope: EventEnvelope, stored: ChainNeighbours): ChainNeighbours {
    const chain = this.#bySeq.get(envelope.device);
    const same = chain?.get(envelope.seq);
    const previous = chain?.get(envelope.seq - 1);
    const next = chain?.get(envelope.seq + 1);
    return {
      sameId: stored.sameId ?? this.#byId.get(envelope.id),
      sameSeq: stored.sameSeq ?? (same && { id: same.id }),
      previous: stored.previous ?? (previous && { hash: previous.hash }),
      next: stored.next ?? (next && { prev: next.prev }),
      highestSeq: Math.max(stored.highestSeq, this.#highest.get(envelope.device) ?? 0),
    };
  }
}

export interface IngestionOptions {
  store: HubStore;
  registry: DeviceRegistry;
  broker: Pick<HubBroker, 'publish'>;
  metrics: HubMetrics;
  alerts: AlertThrottle;
  verifier: VerifierPool;
  /** Transactions committed at once, each with its own devices (1 on SQLite). */
  parallelCommits: number;
  logger: Logger;
  config: HubConfig['ingestion'];
}

/** Emits `stored` with the NewEvent[] of each commit (the web page's live feed listens). */
export class Ingestion extends EventEmitter {
  readonly #o: IngestionOptions;
  #accepted: Accepted[] = [];
  #refused: Refused[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #stopped = false;
  readonly #verifying = new Set<Promise<void>>();

  constructor(options: IngestionOptions) {
    super();
    this.#o = options;
  }

  /** Starts the verification threads. */
  start(): void {
    this.#o.verifier.start();
  }

  /** Stops taking events, commits and acknowledges what was already taken, then stops the threads. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#verifying]);
    while (this.#flushing || this.#accepted.length > 0 || this.#refused.length > 0) {
      await (this.#flushing ?? this.#flush());
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#o.verifier.stop();
  }

  /** One message from `tp/v1/{site}/{device}/events`. */
  handle(message: BrokerMessage, site: string, device: string): void {
    if (this.#stopped) return;
    const work = this.#o.registry
      .ensure(device)
      .then((known) => {
        return this.#o.verifier.verify({
          payload: message.payload,
          site,
          device,
          key: known && {
            siteId: known.siteId,
            publicKey: known.publicKey,
            revoked: known.status === 'revoked',
          },
        });
      })
      .then(
        (outcome) => {
          if (outcome.ok) {
            this.#accepted.push({
              verified: { envelope: outcome.envelope, hash: outcome.hash },
              text: message.payload.toString('utf8'),
              receivedAt: message.receivedAt,
            });
            this.#schedule();
          } else {
            this.#refuse(message, site, device, outcome);
          }
        },
        (error: unknown) =>
          this.#o.logger.error({ err: error, device }, 'event not verified; left unacknowledged'),
      )
      .finally(() => this.#verifying.delete(work));
    this.#verifying.add(work);
  }

  #refuse(
    message: BrokerMessage,
    site: string,
    device: string,
    refusal: { code: string; id: string | undefined },
  ): void {
    const { code, id } = refusal;
    this.#o.metrics.eventsRejected.inc({ code });
    this.#o.logger.warn({ site, device, id, code, bytes: message.payload.length }, 'event refused');
    const kind = alertOfCode[code];
    if (kind) {
      this.#o.alerts.raise({ kind, siteId: site, deviceId: device, details: { code, eventId: id ?? null } });
    }
    this.#refused.push({ site, device, id, code, receivedAt: message.receivedAt });
    this.#schedule();
  }

  #schedule(): void {
    if (this.#flushing || this.#timer) return;
    if (this.#accepted.length >= this.#o.config.batchMaxEvents) {
      void this.#flush();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#flush();
    }, this.#o.config.batchMaxDelayMs);
  }

  #flush(): Promise<void> {
    const run = this.#commitAndAck().finally(() => {
      this.#flushing = undefined;
      if (this.#accepted.length > 0 || this.#refused.length > 0) this.#schedule();
    });
    this.#flushing = run;
    return run;
  }

  async #commitAndAck(): Promise<void> {
    const batch = this.#accepted.splice(0, this.#o.config.batchMaxEvents);
    const refused = this.#refused.splice(0);
    // Device then seq order: chains link within the batch, and replicas lock devices in one order.
    batch.sort(
      (a, b) =>
        a.verified.envelope.device.localeCompare(b.verified.envelope.device) ||
        a.verified.envelope.seq - b.verified.envelope.seq,
    );
    const outcomes = await this.#commitInParallel(batch);
    const acks = new Map<string, PendingAck>();
    const ackOf = (site: string, device: string) => {
      const key = `${site}/${device}`;
      let ack = acks.get(key);
      if (!ack) {
        ack = { site, device, ids: [], rejected: [], receivedAt: [] };
        acks.set(key, ack);
      }
      return ack;
    };
    const stored: NewEvent[] = [];
    batch.forEach((item, i) => {
      const outcome = outcomes[i];
      if (!outcome) return;
      const { envelope } = item.verified;
      const ack = ackOf(envelope.site, envelope.device);
      ack.receivedAt.push(item.receivedAt);
      if (outcome.status === 'rejected') {
        this.#o.metrics.eventsRejected.inc({ code: outcome.code });
        ack.rejected.push({ id: envelope.id, code: outcome.code });
        return;
      }
      ack.ids.push(envelope.id);
      if (outcome.status === 'duplicate') {
        this.#o.metrics.eventsDuplicate.inc();
      } else {
        this.#o.metrics.eventsIngested.inc({ kind: envelope.kind });
        stored.push(outcome.event);
      }
    });
    for (const r of refused) {
      if (r.id === undefined) continue;
      const ack = ackOf(r.site, r.device);
      ack.rejected.push({ id: r.id, code: r.code });
      ack.receivedAt.push(r.receivedAt);
    }
    if (stored.length > 0) this.emit('stored', stored);
    await Promise.all([...acks.values()].map((ack) => this.#publishAck(ack)));
  }

  async #publishAck(ack: PendingAck): Promise<void> {
    const topic = topics.acks(ack.site, ack.device);
    const now = Date.now();
    for (const at of ack.receivedAt) this.#o.metrics.ackLatency.observe((now - at) / 1000);
    try {
      for (let i = 0; i < Math.max(ack.ids.length, ack.rejected.length); i += maxIdsPerAck) {
        const payload = {
          v: PROTOCOL_VERSION,
          ids: ack.ids.slice(i, i + maxIdsPerAck),
          rejected: ack.rejected.slice(i, i + maxIdsPerAck),
        };
        await this.#o.broker.publish(topic, JSON.stringify(payload), { qos: 1 });
      }
    } catch (error) {
      // The events are stored; the agent sends them again and gets the ack of a duplicate.
      this.#o.logger.warn({ err: error, device: ack.device }, 'ack not published');
    }
  }

  /**
   * On PostgreSQL the batch is split by device over several connections (a device's events stay together and
   * in order); SQLite has one writer, so one transaction.
   */
  async #commitInParallel(batch: Accepted[]): Promise<Array<Outcome | undefined>> {
    const lanes = Math.max(1, this.#o.parallelCommits);
    if (lanes === 1 || batch.length < 2) return this.#commit(batch);
    const laneOf = new Map<string, number>();
    const groups = Array.from({ length: lanes }, () => [] as number[]);
    batch.forEach((item, i) => {
      const device = item.verified.envelope.device;
      let lane = laneOf.get(device);
      if (lane === undefined) {
        lane = laneOf.size % lanes;
        laneOf.set(device, lane);
      }
      groups[lane]!.push(i);
    });
    const outcomes = new Array<Outcome | undefined>(batch.length);
    await Promise.all(
      groups.map(async (indexes) => {
        const results = await this.#commit(indexes.map((i) => batch[i]!));
        indexes.forEach((i, j) => {
          outcomes[i] = results[j];
        });
      }),
    );
    return outcomes;
  }

  /** Outcome per batch item (undefined: left unacknowledged, the agent will send it again). */
  async #commit(batch: Accepted[]): Promise<Array<Outcome | undefined>> {
    if (batch.length === 0) return [];
    try {
      return await this.#o.store.transaction((repo) => this.#place(repo, batch));
    } catch (error) {
      this.#o.logger.warn(
        { err: error, events: batch.length },
        'batch commit failed; committing its events one by one',
      );
    }
    const outcomes: Array<Outcome | undefined> = [];
    for (const item of batch) {
      try {
        outcomes.push((await this.#o.store.transaction((repo) => this.#place(repo, [item])))[0]);
      } catch (error) {
        const refusal = isTpError(error) ? storeRefusal[error.code] : undefined;
        if (refusal) {
          outcomes.push({ status: 'rejected', code: refusal });
        } else {
          this.#o.metrics.eventsRejected.inc({ code: HubErrorCode.ingestStoreFailed });
          this.#o.logger.error(
            { err: error, code: HubErrorCode.ingestStoreFailed, id: item.verified.envelope.id },
            'event not stored; left unacknowledged for the agent to send again',
          );
          outcomes.push(undefined);
        }
      }
    }
    return outcomes;
  }

  async #place(repo: HubRepository, batch: Accepted[]): Promise<Outcome[]> {
    const chains = new BatchChains();
    const outcomes: Outcome[] = [];
    const toInsert: NewEvent[] = [];
    const skewMs = this.#o.config.clockSkewAlertSeconds * 1000;
    // What was stored before this batch, for all of it at once; the batch's own events are merged in as
    // they are placed.
    const around = await repo.chainNeighboursMany(
      batch.map(({ verified: { envelope } }) => ({
        deviceId: envelope.device,
        eventId: envelope.id,
        seq: envelope.seq,
      })),
    );
    const lateDevices = new Set<string>();
    for (const [i, item] of batch.entries()) {
      const { envelope, hash } = item.verified;
      const neighbours = chains.merge(envelope, around[i]!);
      const verdict = checkChain(item.verified, neighbours);
      const at = { siteId: envelope.site, deviceId: envelope.device };
      if (verdict.status === 'duplicate') {
        outcomes.push({ status: 'duplicate' });
        continue;
      }
      if (verdict.status === 'replay') {
        await repo.addAlert({ kind: 'replay', ...at, details: { eventId: envelope.id, seq: envelope.seq } });
        outcomes.push({ status: 'rejected', code: verdict.code });
        continue;
      }
      if (verdict.status === 'gap') {
        this.#o.metrics.chainAlerts.inc({ kind: 'sequence_gap' });
        await repo.addAlert({
          kind: 'sequence_gap',
          ...at,
          details: {
            eventId: envelope.id,
            seq: envelope.seq,
            missingFrom: verdict.missingFrom,
            missingTo: verdict.missingTo,
          },
        });
      } else if (verdict.status === 'broken') {
        this.#o.metrics.chainAlerts.inc({ kind: 'chain_break' });
        await repo.addAlert({
          kind: 'chain_break',
          ...at,
          details: { eventId: envelope.id, seq: envelope.seq, side: verdict.side },
        });
      }
      const event = toNewEvent(item);
      if (event.capturedAt - item.receivedAt > skewMs) {
        this.#o.alerts.raise({
          kind: 'clock_skew',
          ...at,
          details: {
            eventId: envelope.id,
            aheadSeconds: Math.round((event.capturedAt - item.receivedAt) / 1000),
          },
        });
      }
      chains.add(envelope, hash);
      toInsert.push(event);
      outcomes.push({ status: 'stored', event });
      if (envelope.seq < neighbours.highestSeq) lateDevices.add(envelope.device);
    }
    const statuses = await repo.insertEvents(toInsert);
    for (const device of lateDevices) await resolveFilledGaps(repo, device);
    let i = 0;
    return outcomes.map((outcome) => {
      if (outcome.status !== 'stored') return outcome;
      return statuses[i++] === 'duplicate' ? { status: 'duplicate' } : outcome;
    });
  }
}

/** Resolves the device's open gap alerts whose missing events have all arrived since. */
async function resolveFilledGaps(repo: HubRepository, deviceId: string): Promise<void> {
  const gaps = await repo.listAlerts({
    deviceId,
    kinds: ['sequence_gap'],
    unresolvedOnly: true,
    limit: 1000,
  });
  for (const gap of gaps) {
    const { missingFrom, missingTo } = gap.details;
    if (typeof missingFrom !== 'number' || typeof missingTo !== 'number') continue;
    const stored = await repo.countStoredSeqs(deviceId, missingFrom, missingTo);
    if (stored === missingTo - missingFrom + 1) {
      await repo.resolveAlert(gap.id, 'gap filled: the missing events arrived late');
    }
  }
}

/** Store refusals that are final for the event: acknowledged as rejected with the protocol's code. */
const storeRefusal: Partial<Record<string, string>> = {
  [HubErrorCode.storeDeviceRevoked]: ProtocolErrorCode.keyRevoked,
  [HubErrorCode.storeDeviceUnknown]: ProtocolErrorCode.keyUnknown,
  [HubErrorCode.storeDeviceSiteMismatch]: ProtocolErrorCode.keyUnknown,
  [HubErrorCode.storeEventSeqTaken]: ProtocolErrorCode.replay,
};
