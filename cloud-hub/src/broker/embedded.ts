// The embedded broker: aedes 1.x over TCP (MQTT 3.1.1), persistence in a level database so retained
// statuses and messages queued for offline agents survive a restart. Devices log in with their provisioned
// broker credentials and are held to the ACL of device-acl.ts; the hub itself publishes and subscribes
// in-process.
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { hubSubscriptions, type Logger } from '@truepresence/protocol';
import { Aedes, type AedesPublishPacket, type AuthenticateError, type Client } from 'aedes';
import aedesPersistenceLevel from 'aedes-persistence-level';
import { Level } from 'level';
import type { EmbeddedBrokerConfig } from '../config.ts';
import { HubErrorCode, hubError } from '../errors.ts';
import type { BrokerMessage, DeviceAuthenticator, DeviceLogin, HubBroker, PublishOptions } from './broker.ts';
import { mayPublish, maySubscribe } from './device-acl.ts';

const badCredentials = 4;
const notAuthorized = 5;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export class EmbeddedBroker implements HubBroker {
  readonly type = 'embedded';
  readonly #config: EmbeddedBrokerConfig;
  readonly #dataDir: string;
  readonly #authenticator: DeviceAuthenticator;
  readonly #logger: Logger;
  #handler: (message: BrokerMessage) => void = () => {};
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  #db: Level<string, unknown> | undefined;
  #port: number | undefined;
  readonly #logins = new Map<Client, DeviceLogin>();
  /** Live MQTT client ids and the device holding each, so no device can take over another's session. */
  readonly #clientOwners = new Map<string, string>();

  constructor(
    config: EmbeddedBrokerConfig,
    dataDir: string,
    authenticator: DeviceAuthenticator,
    logger: Logger,
  ) {
    this.#config = config;
    this.#dataDir = dataDir;
    this.#authenticator = authenticator;
    this.#logger = logger;
  }

  onMessage(handler: (message: BrokerMessage) => void): void {
    this.#handler = handler;
  }

  async start(): Promise<void> {
    let persistence: unknown;
    if (this.#config.persistence === 'level') {
      const dir = join(this.#dataDir, 'broker');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      this.#db = new Level<string, unknown>(dir);
      persistence = aedesPersistenceLevel(this.#db);
    }
    const aedes = await Aedes.createBroker({
      ...(persistence ? { persistence } : {}),
      authenticate: (client, username, password, done) => {
        this.#authenticate(client, username, password).then(
          (login) => {
            if (typeof login === 'string') {
              done(authError(login, login.includes('client id') ? notAuthorized : badCredentials), null);
              return;
            }
            this.#logins.set(client, login);
            this.#clientOwners.set(client.id, login.deviceId);
            done(null, true);
          },
          (error: unknown) => {
            this.#logger.error({ err: error }, 'device login check failed');
            done(authError('login check failed', 3), null);
          },
        );
      },
      authorizePublish: (client, packet, callback) => {
        if (!client) return callback(null);
        const login = this.#logins.get(client);
        const size = packet.payload.length;
        if (
          !login ||
          !mayPublish(login, packet.topic, packet.retain) ||
          size > this.#config.maxPayloadBytes
        ) {
          this.#logger.warn(
            { device: login?.deviceId, topic: packet.topic.slice(0, 200), bytes: size },
            'publish refused by the device ACL; closing the connection',
          );
          return callback(new Error('publish not authorized'));
        }
        callback(null);
      },
      authorizeSubscribe: (client, subscription, callback) => {
        const login = this.#logins.get(client);
        if (!login || !maySubscribe(login, subscription.topic)) {
          this.#logger.warn(
            { device: login?.deviceId, filter: subscription.topic.slice(0, 200) },
            'subscription refused by the device ACL',
          );
          return callback(null, null);
        }
        callback(null, subscription);
      },
    });
    aedes.on('clientDisconnect', (client) => this.#forget(client));
    aedes.on('clientError', (client, error) => {
      this.#logger.debug({ client: client.id, err: error }, 'MQTT client error');
    });
    aedes.on('connectionError', (_client, error) => {
      this.#logger.debug({ err: error }, 'MQTT connection error');
    });
    this.#aedes = aedes;
    const deliver = (packet: AedesPublishPacket, done: () => void) => {
      this.#handler({
        topic: packet.topic,
        payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
        receivedAt: Date.now(),
      });
      done();
    };
    const filters = hubSubscriptions();
    for (const filter of [filters.events, filters.status, filters.syncRequest]) {
      await new Promise<void>((resolve) => aedes.subscribe(filter, deliver, resolve));
    }
    // Acks and roster changes are small packets that must leave at once, not wait for Nagle's algorithm.
    const server = createServer((socket) => {
      socket.setNoDelay(true);
      aedes.handle(socket);
    });
    this.#server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#config.port, this.#config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await this.stop();
      throw hubError(
        HubErrorCode.brokerStartFailed,
        `embedded MQTT broker cannot listen on ${this.#config.host}:${this.#config.port}: ${(error as Error).message}; choose a free broker.port`,
        { host: this.#config.host, port: this.#config.port },
        error,
      );
    }
    const address = server.address();
    this.#port = typeof address === 'object' && address ? address.port : this.#config.port;
    this.#logger.info({ host: this.#config.host, port: this.#port }, 'embedded MQTT broker listening');
  }

  async #authenticate(client: Client, username: string | undefined, password: Buffer | undefined) {
    if (!username || !password) return 'username and password required';
    const login = await this.#authenticator.authenticate(username, password);
    if (!login) {
      this.#logger.warn(
        { username: username.slice(0, 64) },
        'broker login refused: unknown, revoked or wrong password',
      );
      return 'bad username or password';
    }
    const owner = this.#clientOwners.get(client.id);
    if (owner !== undefined && owner !== login.deviceId) {
      this.#logger.warn(
        { device: login.deviceId, clientId: client.id },
        'broker login refused: client id in use',
      );
      return `client id ${client.id} is in use by another device`;
    }
    return login;
  }

  #forget(client: Client): void {
    const login = this.#logins.get(client);
    this.#logins.delete(client);
    if (login && this.#clientOwners.get(client.id) === login.deviceId) {
      const stillUsed = [...this.#logins].some(
        ([c, l]) => c.id === client.id && l.deviceId === login.deviceId,
      );
      if (!stillUsed) this.#clientOwners.delete(client.id);
    }
  }

  async stop(): Promise<void> {
    const aedes = this.#aedes;
    const server = this.#server;
    this.#aedes = undefined;
    this.#server = undefined;
    if (aedes) await new Promise<void>((resolve) => aedes.close(() => resolve()));
    if (server?.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.#db?.close();
    this.#db = undefined;
    this.#logins.clear();
    this.#clientOwners.clear();
  }

  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void> {
    const aedes = this.#aedes;
    if (!aedes) {
      return Promise.reject(hubError(HubErrorCode.brokerNotConnected, 'the embedded broker is not running'));
    }
    return new Promise((resolve, reject) => {
      aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: options.qos,
          retain: options.retain ?? false,
          dup: false,
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  disconnectDevice(deviceId: string): void {
    for (const [client, login] of this.#logins) {
      if (login.deviceId === deviceId) client.close();
    }
  }

  isConnected(): boolean {
    return this.#aedes !== undefined && !this.#aedes.closed;
  }

  address(): { host: string; port: number } | undefined {
    return this.#port === undefined ? undefined : { host: this.#config.host, port: this.#port };
  }
}
