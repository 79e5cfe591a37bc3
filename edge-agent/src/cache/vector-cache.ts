import { EMBEDDING_DIMENSIONS, type Logger, type RosterChange, TpError } from '@truepresence/protocol';
import type Database from 'better-sqlite3-multiple-ciphers';
import * as sqliteVec from 'sqlite-vec';
import { openEncryptedDatabase } from '../encrypted-database.ts';
import { AgentErrorCode } from '../errors.ts';
import type { VectorCacheConfig } from './config.ts';
import { HammingIndex, signCode } from './hamming-index.ts';

/** One template of a roster change, vector decoded. Templates of another model pack than the cache's are not kept. */
export interface TemplateInput {
  id: string;
  vector: Float32Array;
  /** Model pack that produced the vector; absent means the cache's own pack. */
  modelPack?: string;
}

/**
 * A roster change as the cache applies it: enrol and update carry ALL templates of the person after the
 * change (they replace the previous set), erase carries none.
 */
export interface CacheRosterChange {
  seq: number;
  kind: RosterChange['kind'];
  personId: string;
  templates?: readonly TemplateInput[];
}

export interface TemplateMatch {
  personId: string;
  templateId: string;
  /** Cosine similarity, -1..1. */
  similarity: number;
}

export interface CacheCounts {
  people: number;
  templates: number;
}

export interface VectorCacheOpenOptions {
  config: VectorCacheConfig;
  /** The provisioned 32-byte storage key; the cache encrypts with a key derived from it for this file alone. */
  key: Buffer;
  /** Model pack version this agent embeds with; the cache holds templates of this pack only. */
  modelPack: string;
  /**
   * Create the file when it does not exist. Only where no cache is expected yet (a new device): otherwise a
   * missing file is an error, never silently replaced by an empty cache that would match nobody.
   */
  create: boolean;
  logger: Logger;
}

/** 2: sign codes in a plain table (1 kept them in a sqlite-vec vec0 table). */
const SCHEMA_VERSION = 2;
/** Largest `k` a search takes, and most candidates it rescores. */
const MAX_CANDIDATES = 4096;
/**
 * Codes taken from the binary scan per search (more for large k); their templates are rescored with the
 * exact float32 cosine. The exact top-1 is found whenever it is a candidate.
 */
const MIN_CANDIDATES = 16;
const CANDIDATES_PER_ANSWER = 3;

const schema = `
CREATE TABLE cache_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  schema_version INTEGER NOT NULL,
  model_pack TEXT NOT NULL,
  dimensions INTEGER NOT NULL
) STRICT;
CREATE TABLE roster_state (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  applied_seq INTEGER NOT NULL CHECK (applied_seq >= 0)
) STRICT;
CREATE TABLE people (
  person_id TEXT PRIMARY KEY
) STRICT, WITHOUT ROWID;
CREATE TABLE templates (
  id INTEGER PRIMARY KEY,
  template_id TEXT NOT NULL UNIQUE,
  person_id TEXT NOT NULL REFERENCES people (person_id),
  model_pack TEXT NOT NULL,
  vector BLOB NOT NULL CHECK (length(vector) = ${EMBEDDING_DIMENSIONS * 4})
) STRICT;
CREATE INDEX templates_by_person ON templates (person_id);
CREATE TABLE template_codes (
  id INTEGER PRIMARY KEY REFERENCES templates (id),
  code BLOB NOT NULL CHECK (length(code) = ${EMBEDDING_DIMENSIONS / 8})
) STRICT;
`;

function cacheError(
  code: string,
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): TpError {
  return new TpError(code, message, { details, ...(cause === undefined ? {} : { cause }) });
}

/** HKDF info of the cache file's own key (encrypted-database.ts). */
export const CACHE_KEY_PURPOSE = 'truepresence vector cache v1';

/** Checks a vector and returns it L2-normalised as the bytes the cache stores, or why it is unusable. */
export function normalisedVectorBytes(vector: unknown): Buffer | string {
  if (!(vector instanceof Float32Array)) return 'is not a Float32Array';
  if (vector.length !== EMBEDDING_DIMENSIONS)
    return `has ${vector.length} values, not ${EMBEDDING_DIMENSIONS}`;
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (!Number.isFinite(sum)) return 'holds a value that is not finite';
  if (sum === 0) return 'is all zeros';
  const norm = Math.sqrt(sum);
  const unit = new Float32Array(EMBEDDING_DIMENSIONS);
  for (let i = 0; i < EMBEDDING_DIMENSIONS; i++) unit[i] = vector[i]! / norm;
  return Buffer.from(unit.buffer);
}

/** The float32 values of a stored vector (a view when the bytes are aligned for one). */
function floatsOf(bytes: Buffer): Float32Array {
  if (bytes.byteOffset % 4 === 0)
    return new Float32Array(bytes.buffer, bytes.byteOffset, EMBEDDING_DIMENSIONS);
  return new Float32Array(new Uint8Array(bytes).buffer);
}

interface PreparedTemplate {
  id: string;
  vector: Buffer;
}

/** A change to the in-memory codes, made once the transaction that made it in the file has committed. */
type CodeChange = { add: number; code: Uint8Array } | { remove: number };

/**
 * The agent's encrypted vector cache: the site roster's templates in SQLite (sqlite3mc ChaCha20-Poly1305,
 * raw 256-bit key). Only what a decision needs is kept: person ids, template ids and vectors, no names.
 * 1:N search scans the 512-bit sign codes of all templates (Hamming distance, hamming-index.ts: WebAssembly,
 * in memory) and rescores the nearest with the exact float32 cosine, their vectors read from the file.
 * Measured at 100k templates on one core (bench.ts; its `variants` option times sqlite-vec's vec0): vec0
 * float32 ~107 ms and int8 ~121 ms a query (the npm build of sqlite-vec has no SIMD, and int8 misses 2.5%
 * of top-1s); vec0 `bit[512]` with the rescoring in SQL p50 8.1 / p95 9.1 ms; the in-memory scan with the
 * rescoring p50 1.55-1.61 / p95 1.71-1.82 ms on a quiet machine (1.44 / 1.71 ms with the default 64 MiB
 * page cache), recall@1 1.0.
 * So the codes live in a plain table (schema 2: no vec0), loaded into memory at open and kept in step with
 * every change once its transaction commits; sqlite-vec stays for the exact rescoring, in SQL, so template
 * vectors never leave the database during a search.
 * Roster changes apply one transaction each (or one per batch) together with the applied seq; erased
 * templates are overwritten (secure_delete), in the file and in memory, and the WAL is checkpointed so no
 * page image of them remains.
 */
export class VectorCache {
  #appliedSeq: number;
  #counts: CacheCounts;
  readonly #codes = new HammingIndex();
  readonly #selectSeq: Database.Statement<[], { applied_seq: number }>;
  readonly #setSeq: Database.Statement<[number]>;
  readonly #templatesOf: Database.Statement<[string], { id: number }>;
  readonly #ownerOf: Database.Statement<[string], { person_id: string }>;
  readonly #deleteCode: Database.Statement<[number]>;
  readonly #deleteTemplates: Database.Statement<[string]>;
  readonly #deletePerson: Database.Statement<[string]>;
  readonly #insertPerson: Database.Statement<[string]>;
  readonly #insertTemplate: Database.Statement<[string, string, string, Buffer], { id: number }>;
  readonly #insertCode: Database.Statement<[number, Buffer]>;
  readonly #rescoreTemplates: Database.Statement<{ query: Buffer; ids: string }, TemplateMatch>;
  readonly #bestOfPersons: Database.Statement<{ query: Buffer; persons: string }, TemplateMatch>;

  private constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly modelPack: string,
    private readonly log: Logger,
  ) {
    this.#selectSeq = db.prepare('SELECT applied_seq FROM roster_state WHERE id = 1');
    this.#appliedSeq = this.#selectSeq.get()!.applied_seq;
    this.#counts = db
      .prepare<[], CacheCounts>(
        'SELECT (SELECT count(*) FROM people) AS people, (SELECT count(*) FROM templates) AS templates',
      )
      .get()!;
    this.#setSeq = db.prepare('UPDATE roster_state SET applied_seq = ? WHERE id = 1');
    this.#templatesOf = db.prepare('SELECT id FROM templates WHERE person_id = ?');
    this.#ownerOf = db.prepare('SELECT person_id FROM templates WHERE template_id = ?');
    this.#deleteCode = db.prepare('DELETE FROM template_codes WHERE rowid = ?');
    this.#deleteTemplates = db.prepare('DELETE FROM templates WHERE person_id = ?');
    this.#deletePerson = db.prepare('DELETE FROM people WHERE person_id = ?');
    this.#insertPerson = db.prepare('INSERT INTO people (person_id) VALUES (?)');
    this.#insertTemplate = db.prepare(
      'INSERT INTO templates (template_id, person_id, model_pack, vector) VALUES (?, ?, ?, ?) RETURNING id',
    );
    this.#insertCode = db.prepare('INSERT INTO template_codes (id, code) VALUES (?, ?)');
    // The exact cosine in SQL (sqlite-vec): template vectors never leave the database during a search.
    const similarity = '1.0 - vec_distance_cosine(vector, vec_f32(:query))';
    this.#rescoreTemplates = db.prepare(`
      SELECT person_id AS personId, template_id AS templateId, ${similarity} AS similarity
      FROM templates WHERE id IN (SELECT value FROM json_each(:ids))
      ORDER BY similarity DESC`);
    // SQLite takes the bare columns of a max() aggregate from the row that has the max.
    this.#bestOfPersons = db.prepare(`
      SELECT person_id AS personId, template_id AS templateId, max(${similarity}) AS similarity
      FROM templates WHERE person_id IN (SELECT value FROM json_each(:persons))
      GROUP BY person_id
      ORDER BY similarity DESC`);
    for (const { id, code } of db
      .prepare<[], { id: number; code: Buffer }>('SELECT id, code FROM template_codes')
      .iterate()) {
      this.#codes.add(id, code);
    }
  }

  /**
   * Opens (or, with `create`, creates) the cache. The key is set before anything else and checked by reading
   * the schema; a wrong key, a missing or damaged file fails with a coded error and leaves the file as it was.
   */
  static open(options: VectorCacheOpenOptions): VectorCache {
    const { config, key, modelPack, create, logger } = options;
    const path = config.path;
    const { db, tables } = openEncryptedDatabase({
      path,
      storageKey: key,
      purpose: CACHE_KEY_PURPOSE,
      create,
      what: 'vector cache',
      missingAdvice:
        "restore it, or run `truepresence-agent reset-cache` to start an empty one that fills from the hub's roster",
      pageCacheMiB: config.pageCacheMiB,
      codes: {
        keyInvalid: AgentErrorCode.cacheKeyInvalid,
        missing: AgentErrorCode.cacheMissing,
        unreadable: AgentErrorCode.cacheUnreadable,
        keyWrong: AgentErrorCode.cacheKeyWrong,
        corrupt: AgentErrorCode.cacheCorrupt,
      },
    });
    try {
      sqliteVec.load(db);
      db.pragma('secure_delete = ON');
      db.pragma('temp_store = MEMORY');
      db.pragma('foreign_keys = ON');
      if (tables === 0) {
        if (!create) {
          throw cacheError(AgentErrorCode.cacheCorrupt, `vector cache ${path} holds no tables`, { path });
        }
        db.pragma('page_size = 8192');
        db.pragma('journal_mode = WAL');
        db.transaction(() => {
          db.exec(schema);
          db.prepare(
            'INSERT INTO cache_meta (id, schema_version, model_pack, dimensions) VALUES (1, ?, ?, ?)',
          ).run(SCHEMA_VERSION, modelPack, EMBEDDING_DIMENSIONS);
          db.prepare('INSERT INTO roster_state (id, applied_seq) VALUES (1, 0)').run();
        })();
      }
      VectorCache.#checkMeta(db, path, modelPack);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
    } catch (error) {
      db.close();
      throw error;
    }
    const cache = new VectorCache(db, path, modelPack, logger.child({ component: 'vector-cache' }));
    // Counts under names the logger does not redact ("templates" is one of its secret keys).
    const { people, templates: templateCount } = cache.#counts;
    cache.log.info(
      { people, templateCount, appliedSeq: cache.#appliedSeq, created: tables === 0 },
      'vector cache opened',
    );
    return cache;
  }

  static #checkMeta(db: Database.Database, path: string, modelPack: string): void {
    let meta: { schema_version: number; model_pack: string; dimensions: number } | undefined;
    try {
      meta = db
        .prepare<[], NonNullable<typeof meta>>(
          'SELECT schema_version, model_pack, dimensions FROM cache_meta',
        )
        .get();
      db.prepare('SELECT applied_seq FROM roster_state WHERE id = 1').get();
    } catch (cause) {
      throw cacheError(
        AgentErrorCode.cacheCorrupt,
        `${path} is not a TruePresence vector cache`,
        { path },
        cause,
      );
    }
    if (meta !== undefined && meta.schema_version < SCHEMA_VERSION) {
      throw cacheError(
        AgentErrorCode.cacheSchemaOld,
        `vector cache ${path} has schema ${meta.schema_version}, older than this agent's ${SCHEMA_VERSION}; run \`truepresence-agent reset-cache --config FILE\` with the agent stopped: the cache refills from the hub's roster`,
        { path, schema: meta.schema_version },
      );
    }
    if (meta?.schema_version !== SCHEMA_VERSION || meta.dimensions !== EMBEDDING_DIMENSIONS) {
      throw cacheError(
        AgentErrorCode.cacheCorrupt,
        `vector cache ${path} has schema ${meta?.schema_version ?? 'none'}; this agent reads schema ${SCHEMA_VERSION}`,
        { path },
      );
    }
    if (meta.model_pack !== modelPack) {
      throw cacheError(
        AgentErrorCode.cacheModelPackChanged,
        `vector cache ${path} holds templates of model pack ${meta.model_pack}, but this agent embeds with ${modelPack}; run \`truepresence-agent reset-cache --config FILE\` with the agent stopped: the cache refills from the hub's roster for the new pack`,
        { path, cached: meta.model_pack, running: modelPack },
      );
    }
  }

  /** The site roster seq of the last change applied: decisions record it, and a sync asks for what follows. */
  appliedRosterSeq(): number {
    return this.#appliedSeq;
  }

  /**
   * Applies one roster change in one transaction with the seq update. A change at or below the applied seq
   * was applied before: nothing happens and it returns false. A change past the next seq throws
   * TP_AGENT_CACHE_ROSTER_GAP: the changes in between are missing and a sync must fetch them first.
   */
  applyRosterChange(change: CacheRosterChange): boolean {
    return this.applyRosterChanges([change]) === 1;
  }

  /**
   * Applies consecutive changes (a sync batch) in ONE transaction: all of them or, on any error, none.
   * Returns how many were new. Erasures are followed by a WAL checkpoint so that no page image of an
   * erased template stays behind in the WAL file.
   */
  applyRosterChanges(changes: readonly CacheRosterChange[]): number {
    const codeChanges: CodeChange[] = [];
    const outcome = this.db
      .transaction(() => {
        const counts = { ...this.#counts };
        let seq = this.#selectSeq.get()!.applied_seq;
        let applied = 0;
        let erased = 0;
        for (const change of changes) {
          if (!Number.isSafeInteger(change.seq) || change.seq < 1) {
            throw this.#invalid(change, 'its seq is not a positive integer');
          }
          if (change.seq <= seq) continue;
          if (change.seq !== seq + 1) {
            throw cacheError(
              AgentErrorCode.cacheRosterGap,
              `roster change ${change.seq} does not follow the applied seq ${seq}; sync the roster from ${seq} first`,
              { seq: change.seq, applied: seq },
            );
          }
          this.#applyOne(change, counts, codeChanges);
          this.#setSeq.run(change.seq);
          seq = change.seq;
          applied++;
          if (change.kind === 'erase') erased++;
        }
        return { applied, erased, seq, counts };
      })
      .immediate();
    this.#appliedSeq = outcome.seq;
    this.#counts = outcome.counts;
    for (const codeChange of codeChanges) {
      if ('add' in codeChange) this.#codes.add(codeChange.add, codeChange.code);
      else this.#codes.remove(codeChange.remove);
    }
    if (outcome.erased > 0) {
      const [checkpoint] = this.db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
      if (checkpoint?.busy) {
        this.log.warn('erased templates stay in the WAL (encrypted) until the next checkpoint: it was busy');
      }
    }
    if (outcome.applied > 0) {
      this.log.info(
        { applied: outcome.applied, erased: outcome.erased, appliedSeq: outcome.seq },
        'roster changes applied',
      );
    }
    return outcome.applied;
  }

  /** The `k` most similar templates, best first (several may belong to one person). */
  search(query: Float32Array, k: number): TemplateMatch[] {
    return this.#search(this.#query(query, k), k, (rows) => rows.length >= k).slice(0, k);
  }

  /**
   * The `k` most similar persons, best first, each with the similarity of their best template: the best and
   * the second-best distinct identities a decision needs for its margin.
   */
  searchPeople(query: Float32Array, k: number): TemplateMatch[] {
    const unit = this.#query(query, k);
    const persons = (rows: TemplateMatch[]) => [...new Set(rows.map((row) => row.personId))];
    const chosen = persons(this.#search(unit, k, (rows) => persons(rows).length >= k)).slice(0, k);
    // A person's best template may not have been a candidate: the chosen persons are rescored in full.
    return this.#bestOfPersons.all({ query: unit, persons: JSON.stringify(chosen) });
  }

  counts(): CacheCounts {
    return { ...this.#counts };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Takes the nearest codes as candidates; too few answers among them, it takes more. */
  #search(unit: Buffer, k: number, enough: (rows: TemplateMatch[]) => boolean): TemplateMatch[] {
    const code = signCode(floatsOf(unit));
    let candidates = Math.min(Math.max(k * CANDIDATES_PER_ANSWER, MIN_CANDIDATES), MAX_CANDIDATES);
    for (;;) {
      const ids = this.#codes.nearest(code, candidates);
      const rows = this.#rescoreTemplates.all({ query: unit, ids: JSON.stringify(ids) });
      if (enough(rows) || candidates >= this.#codes.size || candidates === MAX_CANDIDATES) return rows;
      candidates = Math.min(candidates * 4, MAX_CANDIDATES);
    }
  }

  /** Checks `k` and the query; returns the query L2-normalised, as float32 bytes. */
  #query(query: Float32Array, k: number): Buffer {
    if (!Number.isSafeInteger(k) || k < 1 || k > MAX_CANDIDATES) {
      throw cacheError(AgentErrorCode.cacheQueryInvalid, `k must be an integer from 1 to ${MAX_CANDIDATES}`, {
        k,
      });
    }
    const bytes = normalisedVectorBytes(query);
    if (typeof bytes === 'string') {
      throw cacheError(AgentErrorCode.cacheQueryInvalid, `the query vector ${bytes}`, {});
    }
    return bytes;
  }

  #applyOne(change: CacheRosterChange, counts: CacheCounts, codeChanges: CodeChange[]): void {
    if (typeof change.personId !== 'string' || change.personId.length === 0) {
      throw this.#invalid(change, 'it names no person');
    }
    const templates = change.templates ?? [];
    if (change.kind === 'erase' && templates.length > 0)
      throw this.#invalid(change, 'an erase carries no templates');
    if (change.kind !== 'erase' && change.kind !== 'enrol' && change.kind !== 'update') {
      throw this.#invalid(change, `its kind ${String(change.kind)} is unknown`);
    }
    const kept: PreparedTemplate[] = [];
    const ids = new Set<string>();
    for (const template of templates) {
      if (typeof template.id !== 'string' || template.id.length === 0 || ids.has(template.id)) {
        throw this.#invalid(change, 'its template ids are not unique non-empty strings');
      }
      ids.add(template.id);
      const vector = normalisedVectorBytes(template.vector);
      if (typeof vector === 'string') throw this.#invalid(change, `template ${template.id} ${vector}`);
      if (template.modelPack === undefined || template.modelPack === this.modelPack) {
        kept.push({ id: template.id, vector });
      }
    }
    if (kept.length < templates.length) {
      this.log.warn(
        { seq: change.seq, skipped: templates.length - kept.length, modelPack: this.modelPack },
        'templates of another model pack were not kept',
      );
    }
    for (const { id } of this.#templatesOf.all(change.personId)) {
      this.#deleteCode.run(id);
      codeChanges.push({ remove: id });
    }
    counts.templates -= this.#deleteTemplates.run(change.personId).changes;
    counts.people -= this.#deletePerson.run(change.personId).changes;
    if (change.kind === 'erase' || kept.length === 0) return;
    this.#insertPerson.run(change.personId);
    counts.people++;
    for (const template of kept) {
      if (this.#ownerOf.get(template.id)) {
        throw this.#invalid(change, `template ${template.id} belongs to another person`);
      }
      const { id } = this.#insertTemplate.get(template.id, change.personId, this.modelPack, template.vector)!;
      const code = signCode(floatsOf(template.vector));
      this.#insertCode.run(id, Buffer.from(code.buffer, code.byteOffset, code.byteLength));
      codeChanges.push({ add: id, code });
      counts.templates++;
    }
  }

  #invalid(change: CacheRosterChange, reason: string): TpError {
    return cacheError(
      AgentErrorCode.cacheChangeInvalid,
      `roster change ${String(change.seq)} cannot be applied: ${reason}; the cache is unchanged`,
      { seq: change.seq, path: this.path },
    );
  }
}
