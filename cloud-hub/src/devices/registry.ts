// The hub's view of its provisioned devices: the keys that verify their events, their broker logins, and
// what their retained status says. Records are cached for a few seconds so that ingestion verifies without a
// database round trip; a revocation here takes effect at once, one made by another replica within the cache
// time (and the store refuses a revoked device's events at commit in any case).
import type { Logger, Status } from '@truepresence/protocol';
import type { DeviceAuthenticator, DeviceLogin } from '../broker/broker.ts';
import { verifyPassword } from '../passwords.ts';
import type { Device, HubStore } from '../store/index.ts';

interface CacheEntry {
  device: Device | undefined;
  loadedAt: number;
}

export class DeviceRegistry implements DeviceAuthenticator {
  readonly #store: HubStore;
  readonly #cacheMs: number;
  readonly #logger: Logger;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #loading = new Map<string, Promise<Device | undefined>>();
  readonly #revokeListeners: Array<(device: Device) => void> = [];

  constructor(store: HubStore, options: { cacheSeconds: number }, logger: Logger) {
    this.#store = store;
    this.#cacheMs = options.cacheSeconds * 1000;
    this.#logger = logger;
  }

  /** Called after a device is revoked through this replica (the broker closes its sessions). */
  onRevoke(listener: (device: Device) => void): void {
    this.#revokeListeners.push(listener);
  }

  #remember(id: string, device: Device | undefined): CacheEntry {
    const entry = { device, loadedAt: Date.now() };
    this.#cache.set(id, entry);
    return entry;
  }

  /**
   * The device's record, loading it when the cached one is stale. A stale record of a known device is used
   * at once while it reloads (the store refuses a revoked device's events at commit in any case); one load
   * per device at a time, however many of its messages arrive meanwhile.
   */
  async ensure(deviceId: string): Promise<Device | undefined> {
    const entry = this.#cache.get(deviceId);
    if (entry && Date.now() - entry.loadedAt <= this.#cacheMs) return entry.device;
    let loading = this.#loading.get(deviceId);
    if (!loading) {
      loading = this.#store
        .getDevice(deviceId)
        .then((device) => this.#remember(deviceId, device).device)
        .finally(() => this.#loading.delete(deviceId));
      this.#loading.set(deviceId, loading);
    }
    if (entry?.device) {
      loading.catch((error: unknown) =>
        this.#logger.warn({ err: error, device: deviceId }, 'device reload failed'),
      );
      return entry.device;
    }
    return loading;
  }

  async authenticate(username: string, password: Buffer): Promise<DeviceLogin | undefined> {
    const device = await this.#store.getDeviceByBrokerUsername(username);
    if (device?.status !== 'active') return undefined;
    if (!(await verifyPassword(password.toString('utf8'), device.brokerPasswordHash))) return undefined;
    this.#remember(device.id, device);
    return { siteId: device.siteId, deviceId: device.id };
  }

  /** Records a revocation made through this replica: refuse at once, close its broker sessions. */
  revoked(device: Device): void {
    this.#remember(device.id, device);
    for (const listener of this.#revokeListeners) listener(device);
  }

  /** Records a registration, so a device that connects right after is known without waiting for the cache. */
  registered(device: Device): void {
    this.#remember(device.id, device);
  }

  /** Applies an agent's retained status (or its last will) to the registry. */
  async recordStatus(deviceId: string, status: Status): Promise<void> {
    const { v: _v, state, backlog, rosterSeq, modelPack, ...details } = status;
    await this.#store.recordDeviceStatus(deviceId, {
      online: state === 'online',
      ...(backlog === undefined ? {} : { backlog }),
      ...(rosterSeq === undefined ? {} : { rosterSeqApplied: rosterSeq }),
      ...(modelPack === undefined ? {} : { modelPackVersion: modelPack }),
      ...(state === 'online' ? { details } : {}),
    });
  }
}
