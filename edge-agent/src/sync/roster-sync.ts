import { EventEmitter } from 'node:events';
import {
  decodePayload,
  decodeVector,
  isTpError,
  type Logger,
  MAX_BYTES,
  openRosterChange,
  PROTOCOL_VERSION,
  type RosterOpenKeys,
  type SealedRosterChange,
  type SyncRequest,
  type SyncResponse,
  syncResponseSchema,
  TpError,
  uuidv7,
} from '@truepresence/protocol';
import type { CacheRosterChange, VectorCache } from '../cache/vector-cache.ts';
import { backoffDelayMs } from '../camera/backoff.ts';
import { AgentErrorCode } from '../errors.ts';
import type { RosterSyncConfig } from './config.ts';

/** Where changes go: the vector cache, which applies a batch in one transaction with its applied seq. */
export type RosterTarget = Pick<VectorCache, 'appliedRosterSeq' | 'applyRosterChanges'>;

export type SendSyncRequest = (request: SyncRequest) => void;

export interface RosterSyncEvents {
  /** A change was applied; the cache is now at this seq. */
  applied: [seq: number];
  /** A change did not verify or decrypt, or the cache refused it; the cache is unchanged. */
  rejected: [TpError];
  /** Caught up: the hub said no change is left after this seq. */
  current: [seq: number];
  /** A catch-up did not finish (timeout, refusal, bad change); it is retried after a backoff. */
  stalled: [TpError];
}

/**
 * Applies roster changes in seq order, live or from sync answers. Every change is verified and opened
 * first (hub signature, site key); any doubt rejects it with TP_AGENT_ROSTER_REJECTED and leaves the cache
 * as it was. A live change past the next seq means changes were missed: a sync request fetches them.
 */
export class RosterSync extends EventEmitter<RosterSyncEvents> {
  #send: SendSyncRequest | null = null;
  #requestId: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #failures = 0;
  private readonly log: Logger;

  constructor(
    private readonly target: RosterTarget,
    private readonly keys: RosterOpenKeys,
    private readonly config: RosterSyncConfig,
    logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'roster-sync' });
  }

  /** Connected: ask for every change after the applied seq, in batches, until current. */
  online(send: SendSyncRequest): void {
    this.#send = send;
    this.#failures = 0;
    this.#ask();
  }

  offline(): void {
    this.#send = null;
    this.#requestId = null;
    this.#clearTimer();
  }

  /** True while a sync request is waiting for its answer. */
  get catchingUp(): boolean {
    return this.#requestId !== null;
  }

  /** A message on the site's roster topic. */
  handleLive(payload: Buffer): void {
    const change = this.#open(payload);
    if (change === null) return;
    const applied = this.target.appliedRosterSeq();
    if (change.seq <= applied) {
      this.log.debug({ seq: change.seq, applied }, 'roster change already applied');
    } else if (change.seq === applied + 1) {
      this.#apply([change]);
    } else if (this.#send !== null && this.#requestId === null && this.#timer === null) {
      this.log.info({ seq: change.seq, applied }, 'roster changes missed: asking the hub');
      this.#ask();
    }
  }

  /** A message on the device's sync answer topic. */
  handleSyncResponse(payload: Buffer): void {
    let response: SyncResponse;
    try {
      response = decodePayload(syncResponseSchema, payload, MAX_BYTES.syncResponse, 'sync response');
    } catch (cause) {
      this.log.warn(
        { code: AgentErrorCode.messageInvalid, reason: isTpError(cause) ? cause.code : undefined },
        'ignored a malformed sync answer',
      );
      return;
    }
    if (response.requestId !== this.#requestId) {
      this.log.debug({ requestId: response.requestId }, 'ignored a sync answer to an older request');
      return;
    }
    this.#clearTimer();
    this.#requestId = null;
    if (response.error) {
      this.#stall(
        new TpError(AgentErrorCode.syncRefused, `the hub refused the sync request: ${response.error}`, {
          details: { reason: response.error },
        }),
      );
      return;
    }
    const opened: CacheRosterChange[] = [];
    for (const sealed of response.changes) {
      const change = this.#open(sealed);
      if (change === null) break;
      opened.push(change);
    }
    const before = this.target.appliedRosterSeq();
    const fresh = opened.filter((c) => c.seq > before);
    const contiguous = fresh.every((c, i) => c.seq === before + i + 1);
    const stored = contiguous && (fresh.length === 0 || this.#apply(fresh));
    if (!stored || opened.length < response.changes.length) {
      const why = !contiguous
        ? `the sync answer skips roster changes after ${before}`
        : !stored
          ? 'the cache refused the changes of the sync answer'
          : `roster change ${response.changes[opened.length]?.seq} of the sync answer was refused`;
      this.#stall(
        new TpError(AgentErrorCode.syncIncomplete, why, {
          details: { applied: this.target.appliedRosterSeq() },
        }),
      );
      return;
    }
    const applied = this.target.appliedRosterSeq();
    if (response.more || applied < response.currentSeq) {
      if (!response.more || response.changes.length === 0) {
        this.#stall(
          new TpError(
            AgentErrorCode.syncIncomplete,
            `the hub is at roster seq ${response.currentSeq} but sent changes only up to ${applied}`,
            { details: { applied, currentSeq: response.currentSeq } },
          ),
        );
        return;
      }
      this.#ask();
      return;
    }
    this.#failures = 0;
    this.log.info({ seq: applied }, 'roster is current');
    this.emit('current', applied);
  }

  #ask(): void {
    if (this.#send === null) return;
    this.#clearTimer();
    const request: SyncRequest = {
      v: PROTOCOL_VERSION,
      requestId: uuidv7(),
      afterSeq: this.target.appliedRosterSeq(),
      limit: this.config.batch,
    };
    this.#requestId = request.requestId;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#requestId = null;
      this.#stall(
        new TpError(
          AgentErrorCode.syncTimeout,
          `no sync answer from the hub within ${this.config.timeoutMs} ms`,
          { details: { afterSeq: request.afterSeq } },
        ),
      );
    }, this.config.timeoutMs);
    this.#send(request);
  }

  #stall(error: TpError): void {
    const delayMs = backoffDelayMs(this.#failures++, this.config.retry);
    this.log.warn({ code: error.code, ...error.details, retryInMs: delayMs }, error.message);
    this.emit('stalled', error);
    if (this.#send === null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#ask();
    }, delayMs);
  }

  /** Verifies, decrypts and decodes one sealed change, or rejects it (logged, emitted) and returns null. */
  #open(payload: Buffer | SealedRosterChange): CacheRosterChange | null {
    try {
      const change = openRosterChange(payload, this.keys);
      return {
        seq: change.seq,
        kind: change.kind,
        personId: change.personId,
        templates: change.templates.map((t) => ({
          id: t.id,
          modelPack: t.modelPack,
          vector: decodeVector(t.vector),
        })),
      };
    } catch (cause) {
      this.#reject(cause, Buffer.isBuffer(payload) ? undefined : payload.seq);
      return null;
    }
  }

  /** Applies consecutive changes in one cache transaction: all of them, or none when the cache refuses. */
  #apply(changes: CacheRosterChange[]): boolean {
    try {
      this.target.applyRosterChanges(changes);
    } catch (cause) {
      this.#reject(cause, changes[0]?.seq);
      return false;
    }
    const seq = this.target.appliedRosterSeq();
    this.log.info(
      { seq, changes: changes.length, erased: changes.filter((c) => c.kind === 'erase').length },
      'roster changes applied',
    );
    this.emit('applied', seq);
    return true;
  }

  #reject(cause: unknown, seq: number | undefined): void {
    const reason = isTpError(cause) ? cause.code : undefined;
    const error = new TpError(
      AgentErrorCode.rosterRejected,
      `roster change${seq === undefined ? '' : ` ${seq}`} refused (${reason ?? (cause as Error).message}); the cache is unchanged`,
      { details: { reason, ...(seq === undefined ? {} : { seq }) }, cause },
    );
    this.log.error({ code: error.code, reason, seq, err: cause }, error.message);
    this.emit('rejected', error);
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
