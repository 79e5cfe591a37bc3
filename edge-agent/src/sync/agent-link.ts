import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import {
  type Ack,
  ackSchema,
  decodePayload,
  isTpError,
  type Logger,
  MAX_BYTES,
  type RosterOpenKeys,
  scrubUrlCredentials,
  topics,
} from '@truepresence/protocol';
import mqtt, { type IConnackPacket, type MqttClient } from 'mqtt';
import { backoffDelayMs } from '../camera/backoff.ts';
import { AgentErrorCode } from '../errors.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { LinkConfig } from './config.ts';
import { Publisher } from './publisher.ts';
import { RosterSync, type RosterTarget } from './roster-sync.ts';
import { offlineStatus, StatusPublisher, type StatusSources } from './status.ts';

export interface AgentLinkDeps extends StatusSources {
  site: string;
  device: string;
  /** The provisioned broker password, read by main from its secret reference. */
  password: string | undefined;
  outbox: Outbox;
  /** The vector cache. */
  roster: RosterTarget;
  /** Hub public keys and site keys from provisioning. */
  rosterKeys: RosterOpenKeys;
  logger: Logger;
}

export interface AgentLinkEvents {
  /** Connected and subscribed; the roster catch-up has begun. */
  connected: [{ sessionPresent: boolean }];
  /** The roster caught up (or the catch-up stalled) and the outbox drains. */
  draining: [];
  disconnected: [];
}

/**
 * The agent's MQTT link (3.1.1, persistent session under a fixed client id): retained status with an
 * `offline` last will; on every connect it subscribes to the site roster, its acks and its sync answers,
 * catches the roster up in batches, then drains the outbox. Decisions keep appending while it is offline.
 */
export class AgentLink extends EventEmitter<AgentLinkEvents> {
  readonly publisher: Publisher;
  readonly rosterSync: RosterSync;
  readonly status: StatusPublisher;
  #client: MqttClient | null = null;
  /** Counts connections, so callbacks of an earlier one are recognised and ignored. */
  #generation = 0;
  #reconnects = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #stopping = false;
  #up = false;
  readonly #topics: {
    events: string;
    acks: string;
    status: string;
    syncRequest: string;
    syncResponse: string;
    roster: string;
  };
  readonly #onChange = () => this.status.request();
  readonly #onRosterDone = () => this.#drain();
  private readonly log: Logger;

  constructor(
    private readonly config: LinkConfig,
    private readonly deps: AgentLinkDeps,
  ) {
    super();
    this.log = deps.logger.child({ component: 'mqtt-link' });
    this.publisher = new Publisher(deps.outbox, config.publisher, deps.logger);
    this.rosterSync = new RosterSync(deps.roster, deps.rosterKeys, config.sync, deps.logger);
    this.status = new StatusPublisher(
      deps.outbox,
      deps.roster,
      deps,
      { intervalMs: config.statusIntervalMs, minIntervalMs: config.statusMinIntervalMs },
      deps.logger,
    );
    const { site, device } = deps;
    this.#topics = {
      events: topics.events(site, device),
      acks: topics.acks(site, device),
      status: topics.status(site, device),
      syncRequest: topics.syncRequest(site, device),
      syncResponse: topics.syncResponse(site, device),
      roster: topics.roster(site),
    };
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Starts connecting and returns at once: the agent works offline until the broker answers. */
  start(): void {
    this.#stopping = false;
    this.publisher.start();
    this.deps.outbox.on('appended', this.#onChange);
    this.deps.outbox.on('storage', this.#onChange);
    this.publisher.on('acked', this.#onChange);
    this.rosterSync.on('applied', this.#onChange);
    this.rosterSync.on('current', this.#onRosterDone);
    this.rosterSync.on('stalled', this.#onRosterDone);
    const client = mqtt.connect(this.config.url, {
      protocolVersion: 4,
      clientId: `tp.${this.deps.site}.${this.deps.device}`,
      clean: false,
      keepalive: this.config.keepaliveSec,
      connectTimeout: this.config.connectTimeoutMs,
      // Reconnects are scheduled here, with backoff and jitter (see #onClose).
      reconnectPeriod: 0,
      resubscribe: false,
      ...(this.config.username === undefined ? {} : { username: this.config.username }),
      ...(this.deps.password === undefined ? {} : { password: this.deps.password }),
      will: {
        topic: this.#topics.status,
        payload: Buffer.from(JSON.stringify(offlineStatus)),
        qos: 1,
        retain: true,
      },
    });
    client.on('connect', (connack) => this.#onConnect(client, connack));
    client.on('close', () => this.#onClose(client));
    client.on('error', (error) => this.#onError(error));
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
    this.#client = client;
    this.log.info({ url: scrubUrlCredentials(this.config.url) }, 'connecting to the broker');
  }

  /** Publishes the retained `offline` status when connected, then disconnects cleanly. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.publisher.stop();
    this.rosterSync.offline();
    this.status.offline();
    this.deps.outbox.off('appended', this.#onChange);
    this.deps.outbox.off('storage', this.#onChange);
    this.publisher.off('acked', this.#onChange);
    this.rosterSync.off('applied', this.#onChange);
    this.rosterSync.off('current', this.#onRosterDone);
    this.rosterSync.off('stalled', this.#onRosterDone);
    const client = this.#client;
    this.#client = null;
    if (client === null) return;
    if (client.connected) {
      // Whichever comes first: the clean end after the offline status, or the connection dropping.
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.publish(this.#topics.status, JSON.stringify(offlineStatus), { qos: 1, retain: true }, () =>
          client.end(false, () => resolve()),
        );
      });
    } else {
      client.end(true);
    }
    this.log.info('disconnected from the broker');
  }

  #onConnect(client: MqttClient, connack: IConnackPacket): void {
    // Events and their acks are small packets that must leave at once, not wait for Nagle's algorithm.
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    const generation = ++this.#generation;
    this.#up = true;
    this.#reconnects = 0;
    this.log.info({ sessionPresent: connack.sessionPresent }, 'connected to the broker');
    const qos1 = { qos: 1 as const };
    client.subscribe(
      { [this.#topics.roster]: qos1, [this.#topics.acks]: qos1, [this.#topics.syncResponse]: qos1 },
      (error, granted) => {
        if (generation !== this.#generation || !client.connected) return;
        if (error) {
          this.log.warn({ code: AgentErrorCode.mqttError, err: error }, 'subscribing failed; reconnecting');
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) {
          this.log.error(
            { code: AgentErrorCode.mqttRefused, topics: refused },
            'the broker refused subscriptions: check the device ACL on the broker',
          );
        }
        this.status.online((status) =>
          client.publish(this.#topics.status, status, { qos: 1, retain: true }, () => {}),
        );
        this.emit('connected', { sessionPresent: connack.sessionPresent });
        this.rosterSync.online((request) =>
          client.publish(this.#topics.syncRequest, JSON.stringify(request), { qos: 1 }, () => {}),
        );
      },
    );
  }

  #drain(): void {
    const client = this.#client;
    if (client === null || !client.connected || this.publisher.draining) return;
    this.publisher.online((body) => client.publish(this.#topics.events, body, { qos: 1 }, () => {}));
    this.emit('draining');
  }

  #onClose(client: MqttClient): void {
    this.#generation++;
    // The outbox, not mqtt.js, owns unacknowledged events: they are sent again from the outbox after the
    // reconnect (which also gives mqtt.js fresh stores). Drop mqtt.js's callbacks of publishes that were in
    // flight, or they would pile up and make a clean end() wait for them forever.
    for (const id of Object.keys(client.outgoing)) delete client.outgoing[Number(id)];
    this.publisher.offline();
    this.rosterSync.offline();
    this.status.offline();
    if (this.#up) {
      this.#up = false;
      if (!this.#stopping) this.log.warn('disconnected from the broker; decisions keep going to the outbox');
      this.emit('disconnected');
    }
    if (this.#stopping || this.#reconnectTimer !== null) return;
    const delayMs = backoffDelayMs(this.#reconnects++, this.config.reconnect);
    this.log.debug({ delayMs }, 'reconnecting after a delay');
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (!this.#stopping) this.#client?.reconnect();
    }, delayMs);
  }

  #onError(error: Error & { code?: string | number }): void {
    if (typeof error.code === 'number') {
      this.log.error(
        { code: AgentErrorCode.mqttRefused, returnCode: error.code },
        `the broker refused the connection (${error.message}): check the provisioned username and password`,
      );
    } else {
      this.log.warn(
        { code: AgentErrorCode.mqttError, reason: error.code, err: error },
        'broker connection failed',
      );
    }
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === this.#topics.roster) this.rosterSync.handleLive(payload);
    else if (topic === this.#topics.syncResponse) this.rosterSync.handleSyncResponse(payload);
    else if (topic === this.#topics.acks) this.#onAck(payload);
  }

  #onAck(payload: Buffer): void {
    let ack: Ack;
    try {
      ack = decodePayload(ackSchema, payload, MAX_BYTES.acks, 'ack');
    } catch (error) {
      this.log.warn(
        { code: AgentErrorCode.messageInvalid, reason: isTpError(error) ? error.code : undefined },
        'ignored a malformed ack',
      );
      return;
    }
    try {
      this.publisher.handleAck(ack);
    } catch (error) {
      this.log.error(
        { err: error, ids: ack.ids.length },
        'acknowledged events could not be removed from the outbox; they will be sent again',
      );
    }
  }
}
