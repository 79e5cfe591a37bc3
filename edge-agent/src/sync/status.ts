import {
  type CameraHealth,
  isTpError,
  type Logger,
  PROTOCOL_VERSION,
  type Status,
  statusSchema,
  validatePayload,
} from '@truepresence/protocol';
import type { Outbox, OutboxStats } from '../outbox/outbox.ts';
import type { RosterTarget } from './roster-sync.ts';

/** What the retained status reports besides the outbox and the roster seq. */
export interface StatusSources {
  modelPack: string;
  agentVersion: string;
  /** Health of each camera; absent on an agent without cameras (tests, tools). */
  cameras?: () => CameraHealth[];
}

/** The last will and the status of a graceful stop. */
export const offlineStatus: Status = { v: PROTOCOL_VERSION, state: 'offline' };

export function onlineStatus(
  outbox: OutboxStats,
  rosterSeq: number,
  sources: StatusSources,
  cameras: CameraHealth[] | undefined,
  at: Date,
): Status {
  return {
    v: PROTOCOL_VERSION,
    state: 'online',
    at: at.toISOString(),
    backlog: outbox.pending,
    rosterSeq,
    modelPack: sources.modelPack,
    agentVersion: sources.agentVersion,
    ...(cameras ? { cameras } : {}),
    storage: { outboxBytes: outbox.usedBytes, freeBytes: outbox.freeBytes, nearFull: outbox.nearFull },
  };
}

export interface StatusTiming {
  /** Republish this often even when nothing changed. */
  intervalMs: number;
  /** Changes republish at most this often. */
  minIntervalMs: number;
}

/**
 * Publishes the retained `online` status while connected: at once, every `intervalMs`, and after changes
 * (`request()`), at most once per `minIntervalMs`. A camera callback that throws leaves the cameras out
 * rather than the whole status.
 */
export class StatusPublisher {
  #send: ((status: Buffer) => void) | null = null;
  #interval: NodeJS.Timeout | null = null;
  #delayed: NodeJS.Timeout | null = null;
  #lastAt = 0;
  private readonly log: Logger;

  constructor(
    private readonly outbox: Outbox,
    private readonly roster: Pick<RosterTarget, 'appliedRosterSeq'>,
    private readonly sources: StatusSources,
    private readonly timing: StatusTiming,
    logger: Logger,
  ) {
    this.log = logger.child({ component: 'status' });
  }

  online(send: (status: Buffer) => void): void {
    this.offline();
    this.#send = send;
    this.#publish();
    this.#interval = setInterval(() => this.#publish(), this.timing.intervalMs);
  }

  offline(): void {
    this.#send = null;
    if (this.#interval !== null) clearInterval(this.#interval);
    if (this.#delayed !== null) clearTimeout(this.#delayed);
    this.#interval = null;
    this.#delayed = null;
  }

  /** Something the status reports changed. */
  request(): void {
    if (this.#send === null || this.#delayed !== null) return;
    const wait = this.#lastAt + this.timing.minIntervalMs - Date.now();
    this.#delayed = setTimeout(
      () => {
        this.#delayed = null;
        this.#publish();
      },
      Math.max(0, wait),
    );
  }

  #publish(): void {
    if (this.#send === null) return;
    let cameras: CameraHealth[] | undefined;
    try {
      cameras = this.sources.cameras?.();
    } catch (error) {
      this.log.warn({ err: error }, 'camera health unavailable; status sent without it');
    }
    const build = (withCameras: CameraHealth[] | undefined) =>
      validatePayload(
        statusSchema,
        onlineStatus(
          this.outbox.stats(),
          this.roster.appliedRosterSeq(),
          this.sources,
          withCameras,
          new Date(),
        ),
        'status',
      );
    let status: Status;
    try {
      status = build(cameras);
    } catch (error) {
      this.log.warn(
        { reason: isTpError(error) ? error.code : undefined, err: error },
        'status sent without cameras',
      );
      status = build(undefined);
    }
    this.#lastAt = Date.now();
    this.#send(Buffer.from(JSON.stringify(status)));
  }
}
