// An external broker (Mosquitto 2, EMQX, HiveMQ, VerneMQ): the hub connects as an MQTT 5 client and takes
// events and sync requests through shared subscriptions ($share/GROUP/...), so several stateless replicas
// split the load; every replica sees every retained status. The broker authenticates the devices.
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { hubSubscriptions, type Logger, readSecret, type SecretEnvironment } from '@truepresence/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { ExternalBrokerConfig } from '../config.ts';
import { HubErrorCode, hubError } from '../errors.ts';
import type { BrokerMessage, HubBroker, PublishOptions } from './broker.ts';

export class ExternalBroker implements HubBroker {
  readonly type = 'external';
  readonly #config: ExternalBrokerConfig;
  readonly #secrets: SecretEnvironment;
  readonly #logger: Logger;
  #handler: (message: BrokerMessage) => void = () => {};
  #client: MqttClient | undefined;

  constructor(config: ExternalBrokerConfig, secrets: SecretEnvironment, logger: Logger) {
    this.#config = config;
    this.#secrets = secrets;
    this.#logger = logger;
  }

  onMessage(handler: (message: BrokerMessage) => void): void {
    this.#handler = handler;
  }

  async start(): Promise<void> {
    const config = this.#config;
    const clientId =
      config.clientId ??
      `hub-${hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 40)}-${process.pid}`;
    let client: MqttClient;
    try {
      client = await mqtt.connectAsync(
        config.url,
        {
          protocolVersion: 5,
          clientId,
          ...(config.username ? { username: config.username } : {}),
          ...(config.password
            ? { password: readSecret(config.password, this.#secrets).toString('utf8').trim() }
            : {}),
          clean: config.sessionExpirySeconds === 0,
          properties: { sessionExpiryInterval: config.sessionExpirySeconds },
          connectTimeout: config.connectTimeoutMs,
          reconnectPeriod: 1000,
        },
        false,
      );
    } catch (error) {
      throw hubError(
        HubErrorCode.brokerStartFailed,
        `cannot connect to the MQTT broker at ${config.url}: ${(error as Error).message}; check broker.url and the hub's broker login`,
        { url: config.url },
        error,
      );
    }
    this.#client = client;
    // Acks are small packets that must leave at once, not wait for Nagle's algorithm.
    const noDelay = () => (client.stream as Partial<Socket>).setNoDelay?.(true);
    noDelay();
    client.on('connect', noDelay);
    client.on('message', (topic, payload) => this.#handler({ topic, payload, receivedAt: Date.now() }));
    client.on('error', (error) => this.#logger.warn({ err: error }, 'MQTT client error'));
    client.on('offline', () =>
      this.#logger.warn({ url: config.url }, 'MQTT broker unreachable; reconnecting'),
    );
    client.on('reconnect', () => this.#logger.debug('reconnecting to the MQTT broker'));
    const filters = hubSubscriptions(config.shareGroup);
    const wanted = [filters.events, filters.status, filters.syncRequest];
    try {
      const granted = await client.subscribeAsync(
        Object.fromEntries(wanted.map((f) => [f, { qos: 1 as const }])),
      );
      const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
      if (refused.length > 0) throw new Error(`subscriptions refused: ${refused.join(', ')}`);
    } catch (error) {
      await client.endAsync(true);
      this.#client = undefined;
      throw hubError(
        HubErrorCode.brokerStartFailed,
        `the MQTT broker refused the hub's subscriptions (${(error as Error).message}); allow the hub's login to read and write tp/v1/#`,
        { url: config.url },
        error,
      );
    }
    this.#logger.info(
      { url: config.url, clientId, shareGroup: config.shareGroup },
      'connected to the MQTT broker',
    );
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync();
  }

  async publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    const client = this.#client;
    if (!client)
      throw hubError(HubErrorCode.brokerNotConnected, 'the hub is not connected to its MQTT broker');
    await client.publishAsync(topic, payload, { qos: options.qos, retain: options.retain ?? false });
  }

  disconnectDevice(): void {}

  isConnected(): boolean {
    return this.#client?.connected ?? false;
  }

  address(): undefined {
    return undefined;
  }
}
