// Whether each online agent keeps up: the roster seq it has applied against its site's latest change (an
// erasure must reach every agent) and the events waiting in its outbox. An agent behind for longer than the
// configured time gets one sync_lag alert per reason, raised through the throttle and left alone while it is
// open; once the agent has caught up the hub resolves it. Every replica checks; the store says what is open.
import type { Logger } from '@truepresence/protocol';
import type { Alert, Device, HubStore, RosterChange } from '../store/index.ts';
import type { AlertThrottle } from './alert-throttle.ts';

export interface SyncLagOptions {
  /** How long an agent may stay behind before it is reported. */
  lagMs: number;
  /** Outbox size above which an agent counts as behind. */
  maxBacklog: number;
}

type Reason = 'roster' | 'backlog';

interface Lag {
  reason: Reason;
  /** Not behind at all: an open alert is resolved with `caughtUp`. */
  level: boolean;
  caughtUp: string;
  /** Behind since then, for longer than the lag time. */
  behind?: { since: number; details: Record<string, unknown> };
}

const longestCheckIntervalMs = 30_000;

export class SyncLagMonitor {
  readonly #store: HubStore;
  readonly #alerts: AlertThrottle;
  readonly #options: SyncLagOptions;
  readonly #logger: Logger;
  /** When each device was first seen with its backlog above the limit (the store keeps only the last status). */
  readonly #backlogSince = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  constructor(store: HubStore, alerts: AlertThrottle, options: SyncLagOptions, logger: Logger) {
    this.#store = store;
    this.#alerts = alerts;
    this.#options = options;
    this.#logger = logger;
  }

  start(): void {
    const every = Math.min(longestCheckIntervalMs, Math.max(50, this.#options.lagMs / 4));
    this.#timer = setInterval(() => {
      if (this.#checking !== undefined) return;
      this.#checking = this.check()
        .catch((error: unknown) => this.#logger.warn({ err: error }, 'sync lag check failed'))
        .finally(() => {
          this.#checking = undefined;
        });
    }, every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#checking;
  }

  /** One pass over every active device. */
  async check(now = Date.now()): Promise<void> {
    const [sites, devices, open] = await Promise.all([
      this.#store.listSites(),
      this.#store.listDevices(),
      this.#store.listAlerts({ kinds: ['sync_lag'], unresolvedOnly: true, limit: 1000 }),
    ]);
    const siteSeq = new Map(sites.map((s) => [s.id, s.rosterSeq]));
    // Agents of one site tend to be behind at the same seq: each first missing change is read once a pass.
    const firstMissing = new Map<string, Promise<RosterChange | undefined>>();
    const firstMissingOf = (siteId: string, applied: number) => {
      const key = `${siteId}\u0000${applied}`;
      let change = firstMissing.get(key);
      if (!change) {
        change = this.#store.rosterChangesAfter(siteId, applied, 1).then(([first]) => first);
        firstMissing.set(key, change);
      }
      return change;
    };
    for (const device of devices) {
      const status = device.lastStatus;
      if (device.status !== 'active' || !status?.online) {
        this.#backlogSince.delete(device.id);
        continue;
      }
      const openOfDevice = open.filter((a) => a.deviceId === device.id);
      for (const lag of [
        await this.#rosterLag(device, siteSeq.get(device.siteId) ?? 0, firstMissingOf, now),
        this.#backlogLag(device, now),
      ]) {
        await this.#report(device, lag, openOfDevice, now);
      }
    }
  }

  async #rosterLag(
    device: Device,
    siteRosterSeq: number,
    firstMissingOf: (siteId: string, applied: number) => Promise<RosterChange | undefined>,
    now: number,
  ): Promise<Lag> {
    const applied = device.lastStatus?.rosterSeqApplied ?? 0;
    const lag: Lag = {
      reason: 'roster',
      level: applied >= siteRosterSeq,
      caughtUp: `caught up: roster #${applied} applied`,
    };
    if (lag.level) return lag;
    const firstMissing = await firstMissingOf(device.siteId, applied);
    if (!firstMissing || now - firstMissing.createdAt < this.#options.lagMs) return lag;
    lag.behind = {
      since: firstMissing.createdAt,
      details: {
        rosterSeqApplied: applied,
        siteRosterSeq,
        behindBy: siteRosterSeq - applied,
        firstMissing: { seq: firstMissing.seq, kind: firstMissing.kind },
      },
    };
    return lag;
  }

  #backlogLag(device: Device, now: number): Lag {
    const status = device.lastStatus!;
    const backlog = status.backlog ?? 0;
    const lag: Lag = {
      reason: 'backlog',
      level: backlog <= this.#options.maxBacklog,
      caughtUp: `caught up: ${backlog} events waiting`,
    };
    if (lag.level) {
      this.#backlogSince.delete(device.id);
      return lag;
    }
    let since = this.#backlogSince.get(device.id);
    if (since === undefined) {
      since = Math.min(status.reportedAt, now);
      this.#backlogSince.set(device.id, since);
    }
    if (now - since >= this.#options.lagMs) {
      lag.behind = { since, details: { backlog, maxBacklog: this.#options.maxBacklog } };
    }
    return lag;
  }

  async #report(device: Device, lag: Lag, open: readonly Alert[], now: number): Promise<void> {
    const mine = open.filter((a) => a.details.reason === lag.reason);
    if (lag.behind) {
      if (mine.length > 0) return;
      this.#alerts.raise({
        kind: 'sync_lag',
        siteId: device.siteId,
        deviceId: device.id,
        details: {
          reason: lag.reason,
          ...lag.behind.details,
          behindSince: lag.behind.since,
          behindSeconds: Math.round((now - lag.behind.since) / 1000),
        },
      });
      return;
    }
    if (lag.level) {
      for (const alert of mine) await this.#store.resolveAlert(alert.id, lag.caughtUp);
    }
  }
}
