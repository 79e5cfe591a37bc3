import type { Kysely } from 'kysely';
import { dialectNameOf } from '../dialect.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was when they were written
type AnyDb = Kysely<any>;

/** Each site's roster keys, sealed by the hub's data key, so that every hub replica can seal roster changes. */
export async function up(db: AnyDb): Promise<void> {
  const postgres = dialectNameOf(db) === 'postgres';
  await db.schema
    .createTable('site_keys')
    .addColumn('id', postgres ? 'bigint' : 'integer', (col) =>
      postgres ? col.primaryKey().generatedAlwaysAsIdentity() : col.primaryKey(),
    )
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id'))
    .addColumn('key_id', 'text', (col) => col.notNull())
    .addColumn('sealed_key', postgres ? 'bytea' : 'blob', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addUniqueConstraint('site_keys_site_key', ['site_id', 'key_id'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropTable('site_keys').execute();
}
