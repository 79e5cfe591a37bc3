// Agent status (retained, with an "offline" last will): online state, backlog, roster seq applied (which
// confirms erasures), model pack, camera health and storage. Cameras that failed and a nearly full outbox
// raise alerts.
import { decodePayload, isTpError, type Logger, MAX_BYTES, statusSchema } from '@truepresence/protocol';
import type { BrokerMessage } from '../broker/broker.ts';
import type { HubMetrics } from '../metrics.ts';
import type { AlertThrottle } from './alert-throttle.ts';
import type { DeviceRegistry } from './registry.ts';

export class StatusHandler {
  readonly #registry: DeviceRegistry;
  readonly #alerts: AlertThrottle;
  readonly #metrics: HubMetrics;
  readonly #logger: Logger;

  constructor(registry: DeviceRegistry, alerts: AlertThrottle, metrics: HubMetrics, logger: Logger) {
    this.#registry = registry;
    this.#alerts = alerts;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** One message from `tp/v1/{site}/{device}/status`; never throws. */
  handle(message: BrokerMessage, site: string, device: string): void {
    // An empty retained message only clears the broker's copy.
    if (message.payload.length === 0) return;
    this.#record(message, site, device).catch((error: unknown) => {
      const code = isTpError(error) ? error.code : 'internal';
      this.#metrics.messagesInvalid.inc({ topic: 'status', code });
      this.#logger.warn({ err: error, site, device }, 'status not recorded');
    });
  }

  async #record(message: BrokerMessage, site: string, device: string): Promise<void> {
    const status = decodePayload(statusSchema, message.payload, MAX_BYTES.status, 'status');
    const known = await this.#registry.ensure(device);
    if (!known || known.siteId !== site || known.status !== 'active') {
      const code = known?.status === 'revoked' ? 'TP_PROTO_KEY_REVOKED' : 'TP_PROTO_KEY_UNKNOWN';
      this.#metrics.messagesInvalid.inc({ topic: 'status', code });
      return;
    }
    await this.#registry.recordStatus(device, status);
    const at = { siteId: site, deviceId: device };
    if (status.storage?.nearFull) {
      this.#alerts.raise({ kind: 'storage_low', ...at, details: { ...status.storage } });
    }
    const failed = (status.cameras ?? []).filter((c) => c.state === 'failed' || c.state === 'stalled');
    if (failed.length > 0) {
      this.#alerts.raise({
        kind: 'camera_down',
        ...at,
        details: { cameras: failed.map((c) => ({ id: c.id, state: c.state })) },
      });
    }
  }
}
