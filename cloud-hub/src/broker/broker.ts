// The MQTT side of the hub, one interface with one implementation per broker kind (embedded aedes, or an
// external MQTT 5 broker reached as a client). Whatever the broker enforced, the hub verifies every payload.

export interface BrokerMessage {
  topic: string;
  payload: Buffer;
  /** When the hub got it (epoch ms), for the ack latency. */
  receivedAt: number;
}

export interface PublishOptions {
  qos: 0 | 1;
  retain?: boolean;
}

/** A device that logged in to the embedded broker. */
export interface DeviceLogin {
  siteId: string;
  deviceId: string;
}

/** Checks a device's broker login against the registry (scrypt hash, device active). */
export interface DeviceAuthenticator {
  authenticate(username: string, password: Buffer): Promise<DeviceLogin | undefined>;
}

export interface HubBroker {
  readonly type: 'embedded' | 'external';
  /** Receives every message on the hub's subscriptions (events, status, sync requests). Set before start. */
  onMessage(handler: (message: BrokerMessage) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Resolves once the broker has taken the message (QoS 1: acknowledged by the broker). */
  publish(topic: string, payload: Buffer | string, options: PublishOptions): Promise<void>;
  /** Ends the live sessions of a revoked device (embedded broker; an external broker manages its own logins). */
  disconnectDevice(deviceId: string): void;
  /** True while the hub can publish and receive. */
  isConnected(): boolean;
  /** Where agents connect (embedded broker once started). */
  address(): { host: string; port: number } | undefined;
}
