// The only place where SQLite and PostgreSQL differ: how a connection is opened and what their errors look
// like. Everything else is one Kysely implementation.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { readSecret, type SecretEnvironment } from '@truepresence/protocol';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import pg from 'pg';
import type { PostgresStoreConfig, SqliteStoreConfig, StoreConfig } from './config.ts';

export type DialectName = 'sqlite' | 'postgres';

// biome-ignore lint/suspicious/noExplicitAny: works on any schema, migrations included
export function dialectNameOf(db: Kysely<any>): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Starts write transactions with BEGIN IMMEDIATE: a deferred transaction that reads and then writes fails
 * at once with SQLITE_BUSY when another process wrote meanwhile, instead of waiting busy_timeout.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

function openSqlite(config: SqliteStoreConfig): Dialect {
  mkdirSync(dirname(config.path), { recursive: true });
  const database = new BetterSqlite3(config.path);
  // synchronous=FULL: an event is acknowledged to its agent only after the commit, so a commit must survive
  // power loss, not only a crash.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma(`busy_timeout = ${config.busyTimeoutMs}`);
  // Bounds the work of `pragma optimize` (see refreshPlannerStatistics) on large files.
  database.pragma('analysis_limit = 1000');
  return new ImmediateSqliteDialect({ database });
}

const int8Oid = 20;

function openPostgres(
  config: PostgresStoreConfig,
  secrets: SecretEnvironment,
  onError: (error: Error) => void,
) {
  const pool = new pg.Pool({
    connectionString: config.url,
    ...(config.password ? { password: readSecret(config.password, secrets).toString('utf8').trim() } : {}),
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    // Times, sequence numbers and counts are 64-bit columns; every value the hub writes fits a double.
    types: {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === int8Oid ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format),
    },
  });
  // An idle connection that the server drops must not crash the process; the pool replaces it.
  pool.on('error', onError);
  return new PostgresDialect({ pool });
}

/** Opens the connection (SQLite) or the pool (PostgreSQL) named by the config. */
export function createDialect(
  config: StoreConfig,
  secrets: SecretEnvironment,
  onPoolError: (error: Error) => void,
): Dialect {
  return config.type === 'sqlite' ? openSqlite(config) : openPostgres(config, secrets, onPoolError);
}

/**
 * Lets SQLite's planner know how selective each index is (without statistics it reads a whole day of a
 * site to find one person's passes). PostgreSQL's autovacuum keeps its own statistics.
 */
// biome-ignore lint/suspicious/noExplicitAny: works on any schema
export async function refreshPlannerStatistics(db: Kysely<any>): Promise<void> {
  if (dialectNameOf(db) === 'sqlite') await sql`pragma optimize = 0x10002`.execute(db);
}

/** A UNIQUE or PRIMARY KEY violation, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error)) return false;
  const code = (error as { code: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
