// Alerts raised from what devices send (refused events, clock skew, storage, cameras): at most one per kind
// and device per window, so a misbehaving device cannot flood the alert list. Counters keep the full count.
import type { Logger } from '@truepresence/protocol';
import type { HubStore, NewAlert } from '../store/index.ts';

export class AlertThrottle {
  readonly #store: HubStore;
  readonly #logger: Logger;
  readonly #windowMs: number;
  readonly #last = new Map<string, number>();

  constructor(store: HubStore, logger: Logger, windowMs = 60_000) {
    this.#store = store;
    this.#logger = logger;
    this.#windowMs = windowMs;
  }

  /** Stores the alert unless one of its kind for its device was stored within the window. */
  raise(alert: NewAlert): void {
    const key = `${alert.kind}/${alert.siteId}/${alert.deviceId}`;
    const now = Date.now();
    if (now - (this.#last.get(key) ?? Number.NEGATIVE_INFINITY) < this.#windowMs) return;
    this.#last.set(key, now);
    this.#store
      .addAlert(alert)
      .catch((error: unknown) => this.#logger.error({ err: error, alert: alert.kind }, 'cannot store alert'));
  }
}
