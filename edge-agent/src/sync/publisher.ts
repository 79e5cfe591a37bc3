import { EventEmitter } from 'node:events';
import type { Ack, Logger } from '@truepresence/protocol';
import { AgentErrorCode } from '../errors.ts';
import type { Outbox } from '../outbox/outbox.ts';
import type { PublisherConfig } from './config.ts';

/** Publishes one signed envelope (JSON bytes) with QoS 1 on the device's events topic. */
export type SendEvent = (body: Buffer) => void;

export interface PublisherEvents {
  /** The hub acknowledged (or refused for good) this many events of the outbox. */
  acked: [count: number];
}

/**
 * Sends the outbox to the hub in seq order, at most `window` events in flight. An event leaves the outbox
 * only when the hub's ack names it. When acks stop coming, the window is sent again from the oldest pending
 * event after a wait that doubles up to `maxAckTimeoutMs`; the hub stores each id once, so a resend is
 * harmless.
 */
export class Publisher extends EventEmitter<PublisherEvents> {
  #send: SendEvent | null = null;
  /** Event id -> seq of what was sent on this connection and is not acknowledged yet. */
  readonly #inFlight = new Map<string, number>();
  /** Highest seq sent on this connection: the next send reads the outbox after it. */
  #cursor = 0;
  #timeouts = 0;
  #ackTimer: NodeJS.Timeout | null = null;
  #pumpQueued = false;
  readonly #onAppended = () => this.#schedulePump();
  private readonly log: Logger;

  constructor(
    private readonly outbox: Outbox,
    private readonly config: PublisherConfig,
    logger: Logger,
  ) {
    super();
    this.log = logger.child({ component: 'publisher' });
  }

  start(): void {
    this.outbox.on('appended', this.#onAppended);
  }

  stop(): void {
    this.outbox.off('appended', this.#onAppended);
    this.offline();
  }

  /** The link is up (and the roster caught up): start draining through `send`. */
  online(send: SendEvent): void {
    this.#send = send;
    this.#inFlight.clear();
    this.#cursor = 0;
    this.#timeouts = 0;
    this.#pump();
  }

  /** The link went down: nothing is in flight any more; everything pending is sent again on the next `online`. */
  offline(): void {
    this.#send = null;
    this.#inFlight.clear();
    this.#cursor = 0;
    this.#clearAckTimer();
  }

  get draining(): boolean {
    return this.#send !== null;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Applies a validated ack from the hub: stored ids leave the outbox, refused ones become dead letters. */
  handleAck(ack: Ack): void {
    let count = this.outbox.ack(ack.ids);
    for (const id of ack.ids) this.#inFlight.delete(id);
    for (const { id, code } of ack.rejected) {
      if (this.outbox.reject(id, code)) count++;
      this.#inFlight.delete(id);
    }
    if (count === 0) return;
    this.#timeouts = 0;
    this.#clearAckTimer();
    this.#pump();
    this.emit('acked', count);
  }

  #schedulePump(): void {
    if (this.#pumpQueued || this.#send === null) return;
    this.#pumpQueued = true;
    setImmediate(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    const send = this.#send;
    if (send === null) return;
    while (this.#inFlight.size < this.config.window) {
      const batch = this.outbox.pending(this.config.window - this.#inFlight.size, this.#cursor);
      if (batch.length === 0) break;
      for (const event of batch) {
        send(event.body);
        this.#inFlight.set(event.id, event.seq);
        this.#cursor = event.seq;
      }
    }
    if (this.#inFlight.size > 0 && this.#ackTimer === null) {
      const wait = Math.min(this.config.maxAckTimeoutMs, this.config.ackTimeoutMs * 2 ** this.#timeouts);
      this.#ackTimer = setTimeout(() => this.#ackTimedOut(wait), wait);
    }
  }

  #ackTimedOut(waitedMs: number): void {
    this.#ackTimer = null;
    if (this.#send === null || this.#inFlight.size === 0) return;
    this.#timeouts++;
    this.log.warn(
      { code: AgentErrorCode.ackTimeout, inFlight: this.#inFlight.size, waitedMs, attempt: this.#timeouts },
      'no ack from the hub: sending the pending events again',
    );
    this.#inFlight.clear();
    this.#cursor = 0;
    this.#pump();
  }

  #clearAckTimer(): void {
    if (this.#ackTimer !== null) clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
  }
}
