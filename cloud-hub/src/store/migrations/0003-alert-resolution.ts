import type { Kysely } from 'kysely';

// biome-ignore lint/suspicious/noExplicitAny: migrations describe the schema as it was when they were written
type AnyDb = Kysely<any>;

/**
 * An alert the hub itself found settled (a sequence gap filled by late events, an agent caught up) is
 * resolved: it stays in the list with why, apart from an admin's acknowledgement.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('alerts').addColumn('resolved_at', 'bigint').execute();
  await db.schema.alterTable('alerts').addColumn('resolution', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('alerts').dropColumn('resolution').execute();
  await db.schema.alterTable('alerts').dropColumn('resolved_at').execute();
}
