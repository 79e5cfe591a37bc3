import { type Kysely, sql } from 'kysely';
import { dialectNameOf } from '../dialect.ts';

// Migrations see the database untyped on purpose: they describe the schema as it was when they were written.
// biome-ignore lint/suspicious/noExplicitAny: see above
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const postgres = dialectNameOf(db) === 'postgres';
  const bytes = postgres ? 'bytea' : 'blob';
  const serialId = (table: string) =>
    db.schema
      .createTable(table)
      .addColumn('id', postgres ? 'bigint' : 'integer', (col) =>
        postgres ? col.primaryKey().generatedAlwaysAsIdentity() : col.primaryKey(),
      );

  await db.schema
    .createTable('sites')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('name', 'text', (col) => col.notNull())
    .addColumn('time_zone', 'text', (col) => col.notNull())
    .addColumn('roster_seq', 'bigint', (col) => col.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id'))
    .addColumn('public_key', 'text', (col) => col.notNull())
    .addColumn('broker_username', 'text', (col) => col.notNull().unique())
    .addColumn('broker_password_hash', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'revoked')`))
    .addColumn('registered_at', 'bigint', (col) => col.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_seen_at', 'bigint')
    .addColumn('online', 'integer')
    .addColumn('backlog', 'bigint')
    .addColumn('roster_seq_applied', 'bigint')
    .addColumn('model_pack_version', 'text')
    .addColumn('status_details', 'text')
    .addColumn('status_at', 'bigint')
    .addColumn('chain_seq', 'bigint')
    .addColumn('chain_hash', 'text')
    .execute();
  await db.schema.createIndex('devices_site').on('devices').column('site_id').execute();

  await db.schema
    .createTable('events')
    .addColumn('event_id', 'text', (col) => col.primaryKey())
    .addColumn('device_id', 'text', (col) => col.notNull().references('devices.id'))
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id'))
    .addColumn('camera_id', 'text', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('attendance', 'unknown', 'spoof')`))
    // No foreign key: an event is evidence and is kept whatever later happens to the roster.
    .addColumn('person_id', 'text')
    .addColumn('direction', 'text', (col) => col.check(sql`direction in ('in', 'out')`))
    .addColumn('captured_at', 'bigint', (col) => col.notNull())
    .addColumn('similarity', 'double precision')
    .addColumn('margin', 'double precision')
    .addColumn('liveness', 'double precision')
    .addColumn('quality', 'double precision')
    .addColumn('roster_seq', 'bigint', (col) => col.notNull())
    .addColumn('model_pack_version', 'text', (col) => col.notNull())
    .addColumn('device_seq', 'bigint', (col) => col.notNull())
    .addColumn('prev_hash', 'text', (col) => col.notNull())
    .addColumn('envelope_hash', 'text', (col) => col.notNull())
    .addColumn('envelope', 'text', (col) => col.notNull())
    .addColumn('received_at', 'bigint', (col) => col.notNull())
    .addUniqueConstraint('events_device_seq', ['device_id', 'device_seq'])
    .execute();
  // Covers the attendance-by-day aggregate and site/door/kind listings without touching the wide rows.
  await db.schema
    .createIndex('events_site_time')
    .on('events')
    .columns(['site_id', 'captured_at', 'kind', 'person_id', 'direction', 'camera_id'])
    .execute();
  await db.schema
    .createIndex('events_person_time')
    .on('events')
    .columns(['person_id', 'captured_at'])
    .execute();

  await serialId('alerts')
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('site_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('details', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('acknowledged_by', 'text')
    .execute();
  await db.schema.createIndex('alerts_device').on('alerts').columns(['device_id', 'id']).execute();
  await db.schema.createIndex('alerts_site').on('alerts').columns(['site_id', 'id']).execute();

  await db.schema
    .createTable('people')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('display_name', 'text', (col) => col.notNull())
    .addColumn('external_id', 'text')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('updated_at', 'bigint', (col) => col.notNull())
    .addColumn('erased_at', 'bigint')
    .execute();
  // An erased person's HR number may come back with a new record.
  await db.schema
    .createIndex('people_external_id')
    .unique()
    .on('people')
    .column('external_id')
    .where(sql<boolean>`external_id is not null and erased_at is null`)
    .execute();

  await db.schema
    .createTable('person_groups')
    .addColumn('person_id', 'text', (col) => col.notNull().references('people.id').onDelete('cascade'))
    .addColumn('group_name', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('person_groups_pk', ['person_id', 'group_name'])
    .execute();
  await db.schema.createIndex('person_groups_group').on('person_groups').column('group_name').execute();

  await db.schema
    .createTable('person_sites')
    .addColumn('person_id', 'text', (col) => col.notNull().references('people.id').onDelete('cascade'))
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id'))
    .addPrimaryKeyConstraint('person_sites_pk', ['person_id', 'site_id'])
    .execute();
  await db.schema.createIndex('person_sites_site').on('person_sites').column('site_id').execute();

  await db.schema
    .createTable('consents')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('person_id', 'text', (col) => col.notNull().references('people.id'))
    .addColumn('legal_basis', 'text', (col) => col.notNull())
    .addColumn('notice_version', 'text', (col) => col.notNull())
    .addColumn('notice_text', 'text')
    .addColumn('recorded_by', 'text', (col) => col.notNull())
    .addColumn('recorded_at', 'bigint', (col) => col.notNull())
    .addColumn('withdrawn_at', 'bigint')
    .addColumn('withdrawn_by', 'text')
    .execute();
  await db.schema.createIndex('consents_person').on('consents').column('person_id').execute();

  await db.schema
    .createTable('templates')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('person_id', 'text', (col) => col.notNull().references('people.id'))
    .addColumn('model_pack_version', 'text', (col) => col.notNull())
    .addColumn('template', bytes, (col) => col.notNull())
    .addColumn('quality', 'double precision')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('templates_person').on('templates').column('person_id').execute();

  await db.schema
    .createTable('photos')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('person_id', 'text', (col) => col.notNull().references('people.id'))
    .addColumn('content_type', 'text', (col) => col.notNull())
    .addColumn('photo', bytes, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('photos_person').on('photos').column('person_id').execute();

  await db.schema
    .createTable('roster_changes')
    .addColumn('site_id', 'text', (col) => col.notNull().references('sites.id'))
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('enrol', 'update', 'erase')`))
    .addColumn('person_id', 'text', (col) => col.notNull().references('people.id'))
    .addColumn('payload', bytes, (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('purged_at', 'bigint')
    .addPrimaryKeyConstraint('roster_changes_pk', ['site_id', 'seq'])
    .execute();
  await db.schema.createIndex('roster_changes_person').on('roster_changes').column('person_id').execute();

  await db.schema
    .createTable('users')
    .addColumn('username', 'text', (col) => col.primaryKey())
    .addColumn('password_hash', 'text', (col) => col.notNull())
    .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('admin', 'manager', 'viewer')`))
    .addColumn('site_scope', 'text')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('updated_at', 'bigint', (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('token_hash', 'text', (col) => col.primaryKey())
    .addColumn('username', 'text', (col) => col.notNull().references('users.username').onDelete('cascade'))
    .addColumn('csrf_hash', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .addColumn('last_used_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('sessions_username').on('sessions').column('username').execute();
  await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();

  await serialId('audit_log')
    .addColumn('at', 'bigint', (col) => col.notNull())
    .addColumn('actor', 'text', (col) => col.notNull())
    .addColumn('action', 'text', (col) => col.notNull())
    .addColumn('target', 'text')
    .addColumn('details', 'text', (col) => col.notNull())
    .execute();
  await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'id']).execute();
  await db.schema.createIndex('audit_log_target').on('audit_log').columns(['target', 'id']).execute();
  // The store has no method to change the audit log; the database refuses it too.
  if (postgres) {
    await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_log is append-only'; end $$`.execute(db);
    await sql`create trigger audit_log_no_change before update or delete on audit_log
      for each row execute function audit_log_append_only()`.execute(db);
    await sql`create trigger audit_log_no_truncate before truncate on audit_log
      for each statement execute function audit_log_append_only()`.execute(db);
  } else {
    await sql`create trigger audit_log_no_update before update on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    await sql`create trigger audit_log_no_delete before delete on audit_log
      begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
  }
}

export async function down(db: AnyDb): Promise<void> {
  if (dialectNameOf(db) === 'postgres') {
    await sql`drop function audit_log_append_only() cascade`.execute(db);
  }
  for (const table of [
    'audit_log',
    'sessions',
    'users',
    'roster_changes',
    'photos',
    'templates',
    'consents',
    'person_sites',
    'person_groups',
    'people',
    'alerts',
    'events',
    'devices',
    'sites',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
