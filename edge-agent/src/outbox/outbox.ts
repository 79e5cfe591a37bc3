import type { KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  type ChainHead,
  chainStart,
  type EventEnvelope,
  type Logger,
  nextEnvelope,
  publicKeyToBase64,
  TpError,
  type UnsignedEnvelope,
  uuidv7,
} from '@truepresence/protocol';
import type Database from 'better-sqlite3-multiple-ciphers';
import { openEncryptedDatabase } from '../encrypted-database.ts';
import { AgentErrorCode } from '../errors.ts';
import type { OutboxConfig } from './config.ts';

/** What the pipeline decides for one track; the outbox adds id, site, device, seq, prev and the signature. */
export type DecisionFields = Omit<UnsignedEnvelope, 'v' | 'id' | 'site' | 'device' | 'seq' | 'prev'>;

export interface OutboxIdentity {
  site: string;
  device: string;
  /** The device's Ed25519 key from provisioning; it signs every envelope. */
  privateKey: KeyObject;
}

export interface OutboxOpenOptions {
  config: OutboxConfig;
  /** The provisioned 32-byte storage key; the outbox encrypts with a key derived from it for this file. */
  key: Buffer;
  identity: OutboxIdentity;
  /**
   * Create the file when it does not exist. Only on a freshly provisioned device: a new outbox restarts the
   * event chain at seq 1, which the hub would flag, so a vanished outbox is an error, never silently replaced.
   */
  create: boolean;
  logger: Logger;
}

export interface PendingEvent {
  seq: number;
  id: string;
  /** The signed envelope as JSON, exactly as it is published. */
  body: Buffer;
}

export interface DeadLetter {
  seq: number;
  id: string;
  code: string;
  rejectedAt: number;
}

export interface OutboxStats {
  /** Events not yet acknowledged by the hub (the backlog). */
  pending: number;
  pendingBytes: number;
  /** Events the hub refused for good, kept aside and never deleted. */
  deadLetters: number;
  deadLetterBytes: number;
  /** pendingBytes + deadLetterBytes: what counts against maxBytes. */
  usedBytes: number;
  maxBytes: number;
  /** Room left for new events: the smaller of maxBytes - usedBytes and the disk above its reserve. */
  freeBytes: number;
  nearFull: boolean;
  full: boolean;
  /** The chain head: seq and hash of the last accepted envelope. */
  head: ChainHead;
}

export interface OutboxEvents {
  /** A decision was committed: it is accepted and may be published. */
  appended: [EventEnvelope];
  /** nearFull or full changed. */
  storage: [OutboxStats];
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  site TEXT NOT NULL,
  device TEXT NOT NULL,
  public_key TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS chain (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  body BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS dead_letter (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  body BLOB NOT NULL,
  code TEXT NOT NULL,
  rejected_at INTEGER NOT NULL
) STRICT;
`;

function outboxError(
  code: string,
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): TpError {
  return new TpError(code, message, { details, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The durable outbox: SQLite (WAL, synchronous=FULL) in its own encrypted file. A decision is signed with
 * the next seq and the chain head, and inserted together with the new head in one transaction; only when
 * `append` returns is it accepted, and then kill -9 or power loss cannot lose it. Rows leave only on the
 * hub's ack (`ack`) or, refused for good, move to the dead-letter table (`reject`).
 */
export class Outbox extends EventEmitter<OutboxEvents> {
  #head: ChainHead;
  #pending: { rows: number; bytes: number };
  #dead: { rows: number; bytes: number };
  #state = { nearFull: false, full: false };
  readonly #insert: Database.Statement<[number, string, Buffer]>;
  readonly #advance: Database.Statement<[number, string, number]>;
  readonly #select: Database.Statement<[number, number], PendingEvent>;
  readonly #delete: Database.Statement<[string], { bytes: number }>;
  readonly #take: Database.Statement<[string], { seq: number; body: Buffer }>;
  readonly #bury: Database.Statement<[number, string, Buffer, string, number]>;

  private constructor(
    private readonly db: Database.Database,
    private readonly identity: OutboxIdentity,
    private readonly config: OutboxConfig,
    private readonly log: Logger,
  ) {
    super();
    const head = db.prepare<[], ChainHead>('SELECT seq, hash FROM chain WHERE id = 1').get();
    this.#head = head ?? chainStart;
    this.#pending = db
      .prepare<[], { rows: number; bytes: number }>(
        'SELECT count(*) AS rows, coalesce(sum(length(body)), 0) AS bytes FROM outbox',
      )
      .get()!;
    this.#dead = db
      .prepare<[], { rows: number; bytes: number }>(
        'SELECT count(*) AS rows, coalesce(sum(length(body)), 0) AS bytes FROM dead_letter',
      )
      .get()!;
    this.#insert = db.prepare('INSERT INTO outbox (seq, id, body) VALUES (?, ?, ?)');
    this.#advance = db.prepare('UPDATE chain SET seq = ?, hash = ? WHERE id = 1 AND seq = ?');
    this.#select = db.prepare('SELECT seq, id, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#delete = db.prepare(
      'DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?)) RETURNING length(body) AS bytes',
    );
    this.#take = db.prepare('DELETE FROM outbox WHERE id = ? RETURNING seq, body');
    this.#bury = db.prepare(
      'INSERT INTO dead_letter (seq, id, body, code, rejected_at) VALUES (?, ?, ?, ?, ?)',
    );
    const { nearFull, full } = this.stats();
    this.#state = { nearFull, full };
  }

  /**
   * Opens (or, with `create`, creates) the outbox. Fails with a coded error, leaving the file as it was, when
   * the file is missing, the key is wrong, the file is damaged or it belongs to another device.
   */
  static open(options: OutboxOpenOptions): Outbox {
    const { config, key, identity, create, logger } = options;
    const path = config.path;
    const { db } = openEncryptedDatabase({
      path,
      storageKey: key,
      purpose: 'truepresence outbox v1',
      create,
      what: 'outbox file',
      missingAdvice:
        'restore it from backup, or re-provision the device (a new outbox restarts the event chain)',
      pageCacheMiB: 16,
      codes: {
        keyInvalid: AgentErrorCode.outboxKeyInvalid,
        missing: AgentErrorCode.outboxMissing,
        unreadable: AgentErrorCode.outboxUnreadable,
        keyWrong: AgentErrorCode.outboxKeyWrong,
        corrupt: AgentErrorCode.outboxCorrupt,
      },
    });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const publicKey = publicKeyToBase64(identity.privateKey);
      db.transaction(() => {
        db.exec(schema);
        db.prepare(
          'INSERT INTO meta (id, site, device, public_key) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
        ).run(identity.site, identity.device, publicKey);
        db.prepare('INSERT INTO chain (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING').run(
          chainStart.seq,
          chainStart.hash,
        );
      })();
      const meta = db
        .prepare<[], { site: string; device: string; public_key: string }>(
          'SELECT site, device, public_key FROM meta WHERE id = 1',
        )
        .get()!;
      if (meta.site !== identity.site || meta.device !== identity.device || meta.public_key !== publicKey) {
        throw outboxError(
          AgentErrorCode.outboxIdentity,
          `outbox file ${path} belongs to device ${meta.site}/${meta.device} with another key; its events cannot be signed as ${identity.site}/${identity.device}`,
          { path, site: meta.site, device: meta.device },
        );
      }
    } catch (error) {
      db.close();
      throw error;
    }
    const outbox = new Outbox(db, identity, config, logger.child({ component: 'outbox' }));
    outbox.log.info(
      { pending: outbox.#pending.rows, deadLetters: outbox.#dead.rows, seq: outbox.#head.seq },
      'outbox opened',
    );
    return outbox;
  }

  /**
   * Signs the decision as the device's next envelope and commits it with the new chain head. When this
   * returns, the event is accepted; when it throws (TP_AGENT_OUTBOX_FULL, a schema error, a disk error),
   * nothing was stored and the caller still owns the decision.
   */
  append(fields: DecisionFields): EventEnvelope {
    const { envelope, head } = nextEnvelope(
      this.#head,
      { id: uuidv7(), site: this.identity.site, device: this.identity.device, ...fields },
      this.identity.privateKey,
    );
    const body = Buffer.from(JSON.stringify(envelope));
    this.#ensureRoom(body.byteLength);
    const previousSeq = this.#head.seq;
    this.db.transaction(() => {
      this.#insert.run(envelope.seq, envelope.id, body);
      if (this.#advance.run(head.seq, head.hash, previousSeq).changes !== 1) {
        throw outboxError(
          AgentErrorCode.outboxChainMoved,
          'the outbox chain head moved under this process: is a second agent using the same outbox file?',
          { path: this.config.path, seq: previousSeq },
        );
      }
    })();
    this.#head = head;
    this.#pending.rows++;
    this.#pending.bytes += body.byteLength;
    // Committed means accepted: a failing listener must not make the caller believe otherwise.
    try {
      this.#refreshState();
      this.emit('appended', envelope);
    } catch (error) {
      this.log.error({ err: error, id: envelope.id }, 'a listener of the outbox failed after an append');
    }
    return envelope;
  }

  /** Up to `limit` pending events with seq above `afterSeq`, in seq order. */
  pending(limit: number, afterSeq = 0): PendingEvent[] {
    return this.#select.all(afterSeq, limit);
  }

  /**
   * Deletes the events the hub acknowledged; unknown ids (already deleted) are ignored. Returns how many went.
   * The deletion is not synced to disk on its own (the next append's sync carries it): if power fails first,
   * the events come back and are sent again, which the hub, storing each id once, answers with another ack.
   */
  ack(ids: readonly string[]): number {
    let rows = 0;
    let bytes = 0;
    this.db.pragma('synchronous = NORMAL');
    try {
      for (const deleted of this.#delete.all(JSON.stringify(ids))) {
        rows++;
        bytes += deleted.bytes;
      }
    } finally {
      this.db.pragma('synchronous = FULL');
    }
    this.#pending.rows -= rows;
    this.#pending.bytes -= bytes;
    if (rows > 0) this.#refreshState();
    return rows;
  }

  /** Moves an event the hub refused for good to the dead-letter table, with the hub's code. */
  reject(id: string, code: string): boolean {
    const moved = this.db.transaction(() => {
      const taken = this.#take.get(id);
      if (taken) this.#bury.run(taken.seq, id, taken.body, code, Date.now());
      return taken;
    })();
    if (!moved) return false;
    this.#pending.rows--;
    this.#pending.bytes -= moved.body.byteLength;
    this.#dead.rows++;
    this.#dead.bytes += moved.body.byteLength;
    this.log.error(
      { id, seq: moved.seq, code },
      'the hub refused an event for good; it is kept as a dead letter',
    );
    return true;
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.db
      .prepare<[number], DeadLetter>(
        'SELECT seq, id, code, rejected_at AS rejectedAt FROM dead_letter ORDER BY seq LIMIT ?',
      )
      .all(limit);
  }

  stats(): OutboxStats {
    const usedBytes = this.#pending.bytes + this.#dead.bytes;
    const diskFree = this.#diskFree();
    return {
      pending: this.#pending.rows,
      pendingBytes: this.#pending.bytes,
      deadLetters: this.#dead.rows,
      deadLetterBytes: this.#dead.bytes,
      usedBytes,
      maxBytes: this.config.maxBytes,
      freeBytes: Math.max(
        0,
        Math.min(this.config.maxBytes - usedBytes, diskFree - this.config.reserveDiskBytes),
      ),
      nearFull:
        usedBytes >= this.config.nearFullRatio * this.config.maxBytes ||
        diskFree < 2 * this.config.reserveDiskBytes,
      full: usedBytes >= this.config.maxBytes || diskFree <= this.config.reserveDiskBytes,
      head: { ...this.#head },
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  #diskFree(): number {
    const fs = statfsSync(dirname(this.config.path));
    return fs.bavail * fs.bsize;
  }

  #ensureRoom(bytes: number): void {
    const usedBytes = this.#pending.bytes + this.#dead.bytes;
    const diskFree = this.#diskFree();
    if (usedBytes + bytes <= this.config.maxBytes && diskFree - bytes > this.config.reserveDiskBytes) return;
    this.#refreshState();
    throw outboxError(
      AgentErrorCode.outboxFull,
      usedBytes + bytes > this.config.maxBytes
        ? `the outbox holds ${usedBytes} of its ${this.config.maxBytes} bytes; the decision was refused until the hub acknowledges events`
        : `only ${diskFree} bytes are free on the disk of ${this.config.path} (reserve ${this.config.reserveDiskBytes}); the decision was refused`,
      { usedBytes, maxBytes: this.config.maxBytes, diskFree },
    );
  }

  #refreshState(): void {
    const stats = this.stats();
    if (stats.nearFull === this.#state.nearFull && stats.full === this.#state.full) return;
    this.#state = { nearFull: stats.nearFull, full: stats.full };
    const fields = { usedBytes: stats.usedBytes, maxBytes: stats.maxBytes, pending: stats.pending };
    if (stats.full)
      this.log.error(
        { ...fields, code: AgentErrorCode.outboxFull },
        'outbox full: new decisions are refused',
      );
    else if (stats.nearFull) this.log.warn(fields, 'outbox nearly full: is the hub reachable?');
    else this.log.info(fields, 'outbox has room again');
    this.emit('storage', stats);
  }
}
