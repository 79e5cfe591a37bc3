// Table shapes as Kysely sees them. Times are epoch milliseconds in 64-bit integer columns on both dialects
// (day boundaries are computed in TypeScript from each site's time zone); JSON is kept as text; there are
// no boolean columns (SQLite has none), only nullable timestamps and 0/1 integers.
import type { Generated } from 'kysely';

export interface SitesTable {
  id: string;
  name: string;
  time_zone: string;
  roster_seq: Generated<number>;
  created_at: number;
}

export interface SiteKeysTable {
  id: Generated<number>;
  site_id: string;
  key_id: string;
  sealed_key: Buffer;
  created_at: number;
}

export interface DevicesTable {
  id: string;
  site_id: string;
  public_key: string;
  broker_username: string;
  broker_password_hash: string;
  status: 'active' | 'revoked';
  registered_at: number;
  revoked_at: number | null;
  last_seen_at: number | null;
  online: number | null;
  backlog: number | null;
  roster_seq_applied: number | null;
  model_pack_version: string | null;
  status_details: string | null;
  status_at: number | null;
  chain_seq: number | null;
  chain_hash: string | null;
}

export interface EventsTable {
  event_id: string;
  device_id: string;
  site_id: string;
  camera_id: string;
  kind: 'attendance' | 'unknown' | 'spoof';
  person_id: string | null;
  direction: 'in' | 'out' | null;
  captured_at: number;
  similarity: number | null;
  margin: number | null;
  liveness: number | null;
  quality: number | null;
  roster_seq: number;
  model_pack_version: string;
  device_seq: number;
  prev_hash: string;
  envelope_hash: string;
  envelope: string;
  received_at: number;
}

export interface AlertsTable {
  id: Generated<number>;
  kind: string;
  site_id: string | null;
  device_id: string | null;
  details: string;
  created_at: number;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  resolved_at: number | null;
  resolution: string | null;
}

export interface PeopleTable {
  id: string;
  display_name: string;
  external_id: string | null;
  created_at: number;
  updated_at: number;
  erased_at: number | null;
}

export interface PersonGroupsTable {
  person_id: string;
  group_name: string;
}

export interface PersonSitesTable {
  person_id: string;
  site_id: string;
}

export interface ConsentsTable {
  id: string;
  person_id: string;
  legal_basis: string;
  notice_version: string;
  notice_text: string | null;
  recorded_by: string;
  recorded_at: number;
  withdrawn_at: number | null;
  withdrawn_by: string | null;
}

export interface TemplatesTable {
  id: string;
  person_id: string;
  model_pack_version: string;
  template: Buffer;
  quality: number | null;
  created_at: number;
}

export interface PhotosTable {
  id: string;
  person_id: string;
  content_type: string;
  photo: Buffer;
  created_at: number;
}

export interface RosterChangesTable {
  site_id: string;
  seq: number;
  kind: 'enrol' | 'update' | 'erase';
  person_id: string;
  payload: Buffer;
  created_at: number;
  purged_at: number | null;
}

export interface UsersTable {
  username: string;
  password_hash: string;
  role: 'admin' | 'manager' | 'viewer';
  site_scope: string | null;
  created_at: number;
  updated_at: number;
}

export interface SessionsTable {
  token_hash: string;
  username: string;
  csrf_hash: string;
  created_at: number;
  expires_at: number;
  last_used_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: string;
}

export interface Database {
  sites: SitesTable;
  site_keys: SiteKeysTable;
  devices: DevicesTable;
  events: EventsTable;
  alerts: AlertsTable;
  people: PeopleTable;
  person_groups: PersonGroupsTable;
  person_sites: PersonSitesTable;
  consents: ConsentsTable;
  templates: TemplatesTable;
  photos: PhotosTable;
  roster_changes: RosterChangesTable;
  users: UsersTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
}
