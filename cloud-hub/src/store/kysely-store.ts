import { randomUUID } from 'node:crypto';
import {
  type ChainNeighbours,
  isTpError,
  type Logger,
  type SecretEnvironment,
  scrubUrlCredentials,
} from '@truepresence/protocol';
import { Kysely, Migrator, type Selectable, type SqlBool, sql } from 'kysely';
import { HubErrorCode, hubError } from '../errors.ts';
import { isTimeZone } from '../time-zone.ts';
import type { StoreConfig } from './config.ts';
import type {
  AlertsTable,
  AuditLogTable,
  ConsentsTable,
  Database,
  DevicesTable,
  EventsTable,
  PeopleTable,
  PhotosTable,
  RosterChangesTable,
  SessionsTable,
  SiteKeysTable,
  SitesTable,
  TemplatesTable,
  UsersTable,
} from './database.ts';
import { createDialect, type DialectName, isUniqueViolation, refreshPlannerStatistics } from './dialect.ts';
import type {
  Alert,
  AlertFilter,
  AttendanceDay,
  AttendanceQuery,
  AuditEntry,
  AuditFilter,
  Consent,
  Device,
  DeviceStatusReport,
  ErasureResult,
  ErasureStatus,
  EventCounts,
  EventFilter,
  EventPage,
  HubRepository,
  HubStore,
  InsertEventStatus,
  LegalBasis,
  NewAlert,
  NewAuditEntry,
  NewConsent,
  NewDevice,
  NewEvent,
  NewPerson,
  NewPhoto,
  NewRosterChange,
  NewSession,
  NewSite,
  NewSiteKey,
  NewTemplate,
  NewUser,
  Person,
  PersonFilter,
  PersonPatch,
  PhotoRecord,
  RosterChange,
  RosterSealer,
  Session,
  Site,
  SiteKeyRecord,
  StoredEvent,
  TemplateFilter,
  TemplateRecord,
  User,
  UserPatch,
} from './hub-store.ts';
import { datesBetween, dayRange } from './local-day.ts';
import { migrationProvider } from './migrations/index.ts';

type Db = Kysely<Database>;

/** Rows per multi-row INSERT: far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const insertChunk = 500;
const maxAttendanceDays = 366;

function clampLimit(limit: number | undefined, fallback: number, max: number): number {
  return Math.min(Math.max(Math.trunc(limit ?? fallback), 1), max);
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function unique<T>(values: readonly T[] | undefined): T[] {
  return [...new Set(values ?? [])];
}

function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** For LIKE ... ESCAPE '\': the search text matches literally. */
function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const siteFromRow = (row: Selectable<SitesTable>): Site => ({
  id: row.id,
  name: row.name,
  timeZone: row.time_zone,
  rosterSeq: row.roster_seq,
  createdAt: row.created_at,
});

const siteKeyFromRow = (row: Selectable<SiteKeysTable>): SiteKeyRecord => ({
  siteId: row.site_id,
  keyId: row.key_id,
  sealedKey: row.sealed_key,
  createdAt: row.created_at,
});

const deviceFromRow = (row: Selectable<DevicesTable>): Device => ({
  id: row.id,
  siteId: row.site_id,
  publicKey: row.public_key,
  brokerUsername: row.broker_username,
  brokerPasswordHash: row.broker_password_hash,
  status: row.status,
  registeredAt: row.registered_at,
  revokedAt: row.revoked_at,
  lastSeenAt: row.last_seen_at,
  lastStatus:
    row.status_at === null
      ? null
      : {
          online: row.online === 1,
          backlog: row.backlog,
          rosterSeqApplied: row.roster_seq_applied,
          modelPackVersion: row.model_pack_version,
          details: row.status_details === null ? {} : parseJson(row.status_details),
          reportedAt: row.status_at,
        },
  chain:
    row.chain_seq === null || row.chain_hash === null ? null : { seq: row.chain_seq, hash: row.chain_hash },
});

const eventFromRow = (row: Selectable<EventsTable>): StoredEvent => ({
  eventId: row.event_id,
  deviceId: row.device_id,
  siteId: row.site_id,
  cameraId: row.camera_id,
  kind: row.kind,
  personId: row.person_id,
  direction: row.direction,
  capturedAt: row.captured_at,
  similarity: row.similarity,
  margin: row.margin,
  liveness: row.liveness,
  quality: row.quality,
  rosterSeq: row.roster_seq,
  modelPackVersion: row.model_pack_version,
  deviceSeq: row.device_seq,
  prevHash: row.prev_hash,
  envelopeHash: row.envelope_hash,
  envelope: row.envelope,
  receivedAt: row.received_at,
});

const eventToRow = (event: NewEvent): Selectable<EventsTable> => ({
  event_id: event.eventId,
  device_id: event.deviceId,
  site_id: event.siteId,
  camera_id: event.cameraId,
  kind: event.kind,
  person_id: event.personId,
  direction: event.direction,
  captured_at: event.capturedAt,
  similarity: event.similarity,
  margin: event.margin,
  liveness: event.liveness,
  quality: event.quality,
  roster_seq: event.rosterSeq,
  model_pack_version: event.modelPackVersion,
  device_seq: event.deviceSeq,
  prev_hash: event.prevHash,
  envelope_hash: event.envelopeHash,
  envelope: event.envelope,
  received_at: event.receivedAt,
});

const alertFromRow = (row: Selectable<AlertsTable>): Alert => ({
  id: row.id,
  kind: row.kind as Alert['kind'],
  siteId: row.site_id,
  deviceId: row.device_id,
  details: parseJson(row.details),
  createdAt: row.created_at,
  acknowledgedAt: row.acknowledged_at,
  acknowledgedBy: row.acknowledged_by,
  resolvedAt: row.resolved_at,
  resolution: row.resolution,
});

const consentFromRow = (row: Selectable<ConsentsTable>): Consent => ({
  id: row.id,
  personId: row.person_id,
  legalBasis: row.legal_basis as LegalBasis,
  noticeVersion: row.notice_version,
  noticeText: row.notice_text,
  recordedBy: row.recorded_by,
  recordedAt: row.recorded_at,
  withdrawnAt: row.withdrawn_at,
  withdrawnBy: row.withdrawn_by,
});

const templateFromRow = (row: Selectable<TemplatesTable>): TemplateRecord => ({
  id: row.id,
  personId: row.person_id,
  modelPackVersion: row.model_pack_version,
  template: row.template,
  quality: row.quality,
  createdAt: row.created_at,
});

const photoFromRow = (row: Selectable<PhotosTable>): PhotoRecord => ({
  id: row.id,
  personId: row.person_id,
  contentType: row.content_type,
  photo: row.photo,
  createdAt: row.created_at,
});

const rosterFromRow = (row: Selectable<RosterChangesTable>): RosterChange => ({
  siteId: row.site_id,
  seq: row.seq,
  kind: row.kind,
  personId: row.person_id,
  createdAt: row.created_at,
  payload: row.payload,
  purgedAt: row.purged_at,
});

const userFromRow = (row: Selectable<UsersTable>): User => ({
  username: row.username,
  passwordHash: row.password_hash,
  role: row.role,
  siteScope: row.site_scope === null ? null : parseJson(row.site_scope),
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const sessionFromRow = (row: Selectable<SessionsTable>): Session => ({
  tokenHash: row.token_hash,
  username: row.username,
  csrfHash: row.csrf_hash,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  lastUsedAt: row.last_used_at,
});

const auditFromRow = (row: Selectable<AuditLogTable>): AuditEntry => ({
  id: row.id,
  at: row.at,
  actor: row.actor,
  action: row.action,
  target: row.target,
  details: parseJson(row.details),
});

/**
 * Sort key "timestamp + camera" for picking the camera of the first or last pass inside the one GROUP BY
 * scan: the biased timestamp always has 14 digits, so text order is time order and the camera follows it.
 */
const keyBias = 10_000_000_000_000;
const keyDigits = 14;

function splitPassKey(key: string | null): { at: number; cameraId: string } | null {
  if (key === null) return null;
  return { at: Number(key.slice(0, keyDigits)) - keyBias, cameraId: key.slice(keyDigits) };
}

function siteUnknown(siteId: string) {
  return hubError(HubErrorCode.storeSiteUnknown, `site "${siteId}" does not exist; create it first`, {
    siteId,
  });
}

function deviceUnknown(deviceId: string) {
  return hubError(HubErrorCode.storeDeviceUnknown, `device "${deviceId}" is not registered`, { deviceId });
}

function personUnknown(personId: string) {
  return hubError(HubErrorCode.storePersonUnknown, `person "${personId}" does not exist`, { personId });
}

function personErased(personId: string) {
  return hubError(
    HubErrorCode.storePersonErased,
    `person "${personId}" has been erased; enrol them again as a new person`,
    { personId },
  );
}

function userUnknown(username: string) {
  return hubError(HubErrorCode.storeUserUnknown, `user "${username}" does not exist`, { username });
}

function checkTimeZone(timeZone: string): void {
  if (!isTimeZone(timeZone)) {
    throw hubError(
      HubErrorCode.storeTimeZoneInvalid,
      `"${timeZone}" is not an IANA time zone; write a name such as "Europe/Paris" or "UTC"`,
      { timeZone },
    );
  }
}

/** The repository over one Kysely handle: the store's own, or a transaction's. */
export class KyselyRepository implements HubRepository {
  readonly #db: () => Db;
  protected readonly dialectName: DialectName;
  protected readonly now: () => number;

  constructor(db: () => Db, dialect: DialectName, now: () => number) {
    this.#db = db;
    this.dialectName = dialect;
    this.now = now;
  }

  /** Runs `work` in a new transaction, or in the one this repository belongs to. */
  protected inTransaction<T>(work: (db: Db, repository: KyselyRepository) => Promise<T>): Promise<T> {
    const db = this.#db();
    if (db.isTransaction) return work(db, this);
    return db
      .transaction()
      .execute((trx) => work(trx, new KyselyRepository(() => trx, this.dialectName, this.now)));
  }

  /** Row locks exist on PostgreSQL only; SQLite transactions already hold the whole database. */
  #locks(db: Db): boolean {
    return this.dialectName === 'postgres' && db.isTransaction;
  }

  // ---- sites

  async createSite(site: NewSite): Promise<Site> {
    checkTimeZone(site.timeZone);
    try {
      const row = await this.#db()
        .insertInto('sites')
        .values({ id: site.id, name: site.name, time_zone: site.timeZone, created_at: this.now() })
        .returningAll()
        .executeTakeFirstOrThrow();
      return siteFromRow(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw hubError(HubErrorCode.storeSiteExists, `site "${site.id}" already exists`, { siteId: site.id });
      }
      throw error;
    }
  }

  async getSite(id: string): Promise<Site | undefined> {
    const row = await this.#db().selectFrom('sites').selectAll().where('id', '=', id).executeTakeFirst();
    return row && siteFromRow(row);
  }

  async listSites(): Promise<Site[]> {
    const rows = await this.#db().selectFrom('sites').selectAll().orderBy('id').execute();
    return rows.map(siteFromRow);
  }

  async updateSite(id: string, patch: { name?: string; timeZone?: string }): Promise<Site> {
    if (patch.timeZone !== undefined) checkTimeZone(patch.timeZone);
    const row = await this.#db()
      .updateTable('sites')
      .set({
        ...(patch.name === undefined ? {} : { name: patch.name }),
        ...(patch.timeZone === undefined ? {} : { time_zone: patch.timeZone }),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw siteUnknown(id);
    return siteFromRow(row);
  }

  async addSiteKey(key: NewSiteKey): Promise<SiteKeyRecord> {
    return this.inTransaction(async (db) => {
      const site = await db.selectFrom('sites').select('id').where('id', '=', key.siteId).executeTakeFirst();
      if (!site) throw siteUnknown(key.siteId);
      try {
        const row = await db
          .insertInto('site_keys')
          .values({
            site_id: key.siteId,
            key_id: key.keyId,
            sealed_key: toBuffer(key.sealedKey),
            created_at: this.now(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return siteKeyFromRow(row);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        throw hubError(
          HubErrorCode.storeSiteKeyExists,
          `site "${key.siteId}" already has a key "${key.keyId}"; give the new key another id`,
          { siteId: key.siteId, keyId: key.keyId },
        );
      }
    });
  }

  async listSiteKeys(siteId: string): Promise<SiteKeyRecord[]> {
    const rows = await this.#db()
      .selectFrom('site_keys')
      .selectAll()
      .where('site_id', '=', siteId)
      .orderBy('id', 'desc')
      .execute();
    return rows.map(siteKeyFromRow);
  }

  // ---- devices

  async registerDevice(device: NewDevice): Promise<Device> {
    return this.inTransaction(async (db) => {
      const site = await db
        .selectFrom('sites')
        .select('id')
        .where('id', '=', device.siteId)
        .executeTakeFirst();
      if (!site) throw siteUnknown(device.siteId);
      try {
        const row = await db
          .insertInto('devices')
          .values({
            id: device.id,
            site_id: device.siteId,
            public_key: device.publicKey,
            broker_username: device.brokerUsername,
            broker_password_hash: device.brokerPasswordHash,
            status: 'active',
            registered_at: this.now(),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return deviceFromRow(row);
      } catch (error) {
        if (isUniqueViolation(error)) {
          throw hubError(
            HubErrorCode.storeDeviceExists,
            `device "${device.id}" or broker user "${device.brokerUsername}" is already registered`,
            { deviceId: device.id, brokerUsername: device.brokerUsername },
          );
        }
        throw error;
      }
    });
  }

  async getDevice(id: string): Promise<Device | undefined> {
    const row = await this.#db().selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
    return row && deviceFromRow(row);
  }

  async getDeviceByBrokerUsername(username: string): Promise<Device | undefined> {
    const row = await this.#db()
      .selectFrom('devices')
      .selectAll()
      .where('broker_username', '=', username)
      .executeTakeFirst();
    return row && deviceFromRow(row);
  }

  async listDevices(filter: { siteId?: string } = {}): Promise<Device[]> {
    const rows = await this.#db()
      .selectFrom('devices')
      .selectAll()
      .$if(filter.siteId !== undefined, (qb) => qb.where('site_id', '=', filter.siteId!))
      .orderBy('id')
      .execute();
    return rows.map(deviceFromRow);
  }

  async revokeDevice(id: string): Promise<Device> {
    const row = await this.#db()
      .updateTable('devices')
      .set((eb) => ({ status: 'revoked', revoked_at: eb.fn.coalesce('revoked_at', eb.val(this.now())) }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw deviceUnknown(id);
    return deviceFromRow(row);
  }

  async recordDeviceStatus(id: string, report: DeviceStatusReport): Promise<void> {
    const now = this.now();
    const result = await this.#db()
      .updateTable('devices')
      .set({
        online: report.online ? 1 : 0,
        status_at: now,
        ...(report.online ? { last_seen_at: now } : {}),
        ...(report.backlog === undefined ? {} : { backlog: report.backlog }),
        ...(report.rosterSeqApplied === undefined ? {} : { roster_seq_applied: report.rosterSeqApplied }),
        ...(report.modelPackVersion === undefined ? {} : { model_pack_version: report.modelPackVersion }),
        ...(report.details === undefined ? {} : { status_details: JSON.stringify(report.details) }),
      })
      .where('id', '=', id)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw deviceUnknown(id);
  }

  // ---- events

  async chainNeighbours(deviceId: string, eventId: string, seq: number): Promise<ChainNeighbours> {
    // Ingestion calls this once per event: two plain statements cost a third of the three built ones.
    const db = this.#db();
    const lock = this.#locks(db) ? sql` for no key update` : sql``;
    const [device] = (
      await sql<
        Pick<DevicesTable, 'chain_seq'>
      >`select chain_seq from devices where id = ${deviceId}${lock}`.execute(db)
    ).rows;
    if (!device) throw deviceUnknown(deviceId);
    const { rows } = await sql<
      Pick<EventsTable, 'event_id' | 'device_id' | 'device_seq' | 'envelope_hash' | 'prev_hash'>
    >`
      select event_id, device_id, device_seq, envelope_hash, prev_hash from events
      where event_id = ${eventId} or (device_id = ${deviceId} and device_seq between ${seq - 1} and ${seq + 1})`.execute(
      db,
    );
    const sameId = rows.find((row) => row.event_id === eventId);
    const at = (s: number) => rows.find((row) => row.device_id === deviceId && row.device_seq === s);
    const sameSeq = at(seq);
    const previous = at(seq - 1);
    const next = at(seq + 1);
    return {
      sameId: sameId && { seq: sameId.device_seq, hash: sameId.envelope_hash },
      sameSeq: sameSeq && { id: sameSeq.event_id },
      previous: previous && { hash: previous.envelope_hash },
      next: next && { prev: next.prev_hash },
      highestSeq: device.chain_seq ?? 0,
    };
  }

  // Hub core: the ingestion batch's neighbours in two statements instead of two per event.
  async chainNeighboursMany(
    events: ReadonlyArray<{ deviceId: string; eventId: string; seq: number }>,
  ): Promise<ChainNeighbours[]> {
    if (events.length === 0) return [];
    const db = this.#db();
    const deviceIds = unique(events.map((e) => e.deviceId)).sort();
    const devices = await db
      .selectFrom('devices')
      .select(['id', 'chain_seq'])
      .where('id', 'in', deviceIds)
      .orderBy('id')
      .$if(this.#locks(db), (qb) => qb.forNoKeyUpdate())
      .execute();
    const heads = new Map(devices.map((d) => [d.id, d.chain_seq ?? 0]));
    const missing = deviceIds.find((id) => !heads.has(id));
    if (missing !== undefined) throw deviceUnknown(missing);
    const ranges = deviceIds.map((id) => {
      const seqs = events.filter((e) => e.deviceId === id).map((e) => e.seq);
      return { id, from: Math.min(...seqs) - 1, to: Math.max(...seqs) + 1 };
    });
    const rows = await db
      .selectFrom('events')
      .select(['event_id', 'device_id', 'device_seq', 'envelope_hash', 'prev_hash'])
      .where((eb) =>
        eb.or([
          eb('event_id', 'in', unique(events.map((e) => e.eventId))),
          ...ranges.map((r) =>
            eb.and([
              eb('device_id', '=', r.id),
              eb('device_seq', '>=', r.from),
              eb('device_seq', '<=', r.to),
            ]),
          ),
        ]),
      )
      .execute();
    const byId = new Map(rows.map((row) => [row.event_id, row]));
    const bySeq = new Map(rows.map((row) => [`${row.device_id}/${row.device_seq}`, row]));
    return events.map(({ deviceId, eventId, seq }) => {
      const sameId = byId.get(eventId);
      const at = (s: number) => bySeq.get(`${deviceId}/${s}`);
      const sameSeq = at(seq);
      const previous = at(seq - 1);
      const next = at(seq + 1);
      return {
        sameId: sameId && { seq: sameId.device_seq, hash: sameId.envelope_hash },
        sameSeq: sameSeq && { id: sameSeq.event_id },
        previous: previous && { hash: previous.envelope_hash },
        next: next && { prev: next.prev_hash },
        highestSeq: heads.get(deviceId)!,
      };
    });
  }

  async insertEvent(event: NewEvent): Promise<InsertEventStatus> {
    const [status] = await this.insertEvents([event]);
    return status!;
  }

  async insertEvents(events: readonly NewEvent[]): Promise<InsertEventStatus[]> {
    if (events.length === 0) return [];
    return this.inTransaction(async (db) => {
      const deviceIds = unique(events.map((e) => e.deviceId)).sort();
      // Locked in id order, so that two batches sharing devices cannot deadlock.
      const devices = await db
        .selectFrom('devices')
        .select(['id', 'site_id', 'status', 'chain_seq', 'last_seen_at'])
        .where('id', 'in', deviceIds)
        .orderBy('id')
        .$if(this.#locks(db), (qb) => qb.forNoKeyUpdate())
        .execute();
      const byId = new Map(devices.map((d) => [d.id, d]));
      for (const event of events) {
        const device = byId.get(event.deviceId);
        if (!device) throw deviceUnknown(event.deviceId);
        if (device.status === 'revoked') {
          throw hubError(HubErrorCode.storeDeviceRevoked, `device "${device.id}" is revoked`, {
            deviceId: device.id,
            eventId: event.eventId,
          });
        }
        if (device.site_id !== event.siteId) {
          throw hubError(
            HubErrorCode.storeDeviceSiteMismatch,
            `event ${event.eventId} names site "${event.siteId}" but device "${device.id}" belongs to "${device.site_id}"`,
            { deviceId: device.id, eventId: event.eventId, siteId: event.siteId },
          );
        }
      }
      // The first occurrence of an id is the one that may be inserted; later ones are duplicates.
      const firstIndex = new Map<string, number>();
      events.forEach((event, i) => {
        if (!firstIndex.has(event.eventId)) firstIndex.set(event.eventId, i);
      });
      const isFirst = (event: NewEvent, i: number) => firstIndex.get(event.eventId) === i;
      const candidates = events.filter(isFirst);
      const inserted = new Set<string>();
      for (let i = 0; i < candidates.length; i += insertChunk) {
        try {
          const rows = await db
            .insertInto('events')
            .values(candidates.slice(i, i + insertChunk).map(eventToRow))
            .onConflict((oc) => oc.column('event_id').doNothing())
            .returning('event_id')
            .execute();
          for (const row of rows) inserted.add(row.event_id);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
          throw hubError(
            HubErrorCode.storeEventSeqTaken,
            'another event with a different id already holds this device sequence number (a replay)',
            { eventIds: candidates.slice(i, i + insertChunk).map((e) => e.eventId) },
            error,
          );
        }
      }
      for (const device of devices) {
        let head: NewEvent | undefined;
        let seen = device.last_seen_at ?? 0;
        for (const [i, event] of events.entries()) {
          if (event.deviceId !== device.id) continue;
          seen = Math.max(seen, event.receivedAt);
          if (!isFirst(event, i) || !inserted.has(event.eventId)) continue;
          if (event.deviceSeq > (head?.deviceSeq ?? device.chain_seq ?? 0)) head = event;
        }
        if (!head && seen === device.last_seen_at) continue;
        await db
          .updateTable('devices')
          .set({
            last_seen_at: seen,
            ...(head ? { chain_seq: head.deviceSeq, chain_hash: head.envelopeHash } : {}),
          })
          .where('id', '=', device.id)
          .execute();
      }
      return events.map((event, i) =>
        isFirst(event, i) && inserted.has(event.eventId) ? 'inserted' : 'duplicate',
      );
    });
  }

  async getEvent(eventId: string): Promise<StoredEvent | undefined> {
    const row = await this.#db()
      .selectFrom('events')
      .selectAll()
      .where('event_id', '=', eventId)
      .executeTakeFirst();
    return row && eventFromRow(row);
  }

  #eventFilter(db: Db, filter: EventFilter) {
    return db
      .selectFrom('events')
      .$if(filter.siteId !== undefined, (qb) => qb.where('site_id', '=', filter.siteId!))
      .$if(filter.deviceId !== undefined, (qb) => qb.where('device_id', '=', filter.deviceId!))
      .$if(filter.personId !== undefined, (qb) => qb.where('person_id', '=', filter.personId!))
      .$if(filter.cameraIds !== undefined, (qb) => qb.where('camera_id', 'in', unique(filter.cameraIds)))
      .$if(filter.kinds !== undefined, (qb) => qb.where('kind', 'in', unique(filter.kinds)))
      .$if(filter.from !== undefined, (qb) => qb.where('captured_at', '>=', filter.from!))
      .$if(filter.to !== undefined, (qb) => qb.where('captured_at', '<', filter.to!));
  }

  async listEvents(page: EventPage): Promise<StoredEvent[]> {
    if (page.cameraIds?.length === 0 || page.kinds?.length === 0) return [];
    const desc = (page.order ?? 'desc') === 'desc';
    const after = page.after;
    const rows = await this.#eventFilter(this.#db(), page)
      .selectAll()
      .$if(after !== undefined, (qb) =>
        qb.where((eb) =>
          eb.or([
            eb('captured_at', desc ? '<' : '>', after!.capturedAt),
            eb.and([
              eb('captured_at', '=', after!.capturedAt),
              eb('event_id', desc ? '<' : '>', after!.eventId),
            ]),
          ]),
        ),
      )
      .orderBy('captured_at', desc ? 'desc' : 'asc')
      .orderBy('event_id', desc ? 'desc' : 'asc')
      .limit(clampLimit(page.limit, 100, 1000))
      .execute();
    return rows.map(eventFromRow);
  }

  async countEvents(filter: EventFilter): Promise<EventCounts> {
    const counts: EventCounts = { attendance: 0, unknown: 0, spoof: 0 };
    if (filter.cameraIds?.length === 0 || filter.kinds?.length === 0) return counts;
    const rows = await this.#eventFilter(this.#db(), filter)
      .select((eb) => ['kind', eb.fn.countAll<number>().as('n')])
      .groupBy('kind')
      .execute();
    for (const row of rows) counts[row.kind] = Number(row.n);
    return counts;
  }

  async countStoredSeqs(deviceId: string, fromSeq: number, toSeq: number): Promise<number> {
    const row = await this.#db()
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('device_id', '=', deviceId)
      .where('device_seq', '>=', fromSeq)
      .where('device_seq', '<=', toSeq)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async attendance(query: AttendanceQuery): Promise<AttendanceDay[]> {
    const site = await this.getSite(query.siteId);
    if (!site) throw siteUnknown(query.siteId);
    const dates = datesBetween(query.from, query.to, maxAttendanceDays);
    if (query.cameraIds?.length === 0) return [];
    const db = this.#db();
    // PostgreSQL would otherwise compare the keys with the database's locale collation: slower, same order.
    const collate = this.dialectName === 'postgres' ? sql` collate "C"` : sql``;
    const key = sql<string>`((captured_at + ${sql.lit(keyBias)}) || camera_id)${collate}`;
    const days: AttendanceDay[] = [];
    for (const date of dates) {
      const { start, end } = dayRange(date, site.timeZone);
      const rows = await db
        .selectFrom('events')
        .select((eb) => [
          'person_id',
          eb.fn.countAll<number>().as('passes'),
          sql<string | null>`min(case when direction = 'out' then null else ${key} end)`.as('first_in'),
          sql<string | null>`max(case when direction = 'in' then null else ${key} end)`.as('last_out'),
          sql<string>`max(${key})`.as('last_pass'),
        ])
        .where('site_id', '=', site.id)
        .where('captured_at', '>=', start)
        .where('captured_at', '<', end)
        .where('kind', '=', 'attendance')
        .$if(query.personId !== undefined, (qb) => qb.where('person_id', '=', query.personId!))
        .$if(query.cameraIds !== undefined, (qb) => qb.where('camera_id', 'in', unique(query.cameraIds)))
        .$if(query.group !== undefined, (qb) =>
          qb.where('person_id', 'in', (eb) =>
            eb.selectFrom('person_groups').select('person_id').where('group_name', '=', query.group!),
          ),
        )
        .groupBy('person_id')
        .orderBy('person_id')
        .execute();
      for (const row of rows) {
        if (row.person_id === null) continue;
        const firstIn = splitPassKey(row.first_in);
        const lastOut = splitPassKey(row.last_out);
        const last = splitPassKey(row.last_pass)!;
        days.push({
          date,
          siteId: site.id,
          personId: row.person_id,
          passes: Number(row.passes),
          firstInAt: firstIn?.at ?? null,
          firstInCameraId: firstIn?.cameraId ?? null,
          lastOutAt: lastOut?.at ?? null,
          lastOutCameraId: lastOut?.cameraId ?? null,
          lastSeenAt: last.at,
          lastCameraId: last.cameraId,
        });
      }
    }
    return days;
  }

  // ---- alerts

  async addAlert(alert: NewAlert): Promise<Alert> {
    const row = await this.#db()
      .insertInto('alerts')
      .values({
        kind: alert.kind,
        site_id: alert.siteId,
        device_id: alert.deviceId,
        details: JSON.stringify(alert.details),
        created_at: this.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return alertFromRow(row);
  }

  async listAlerts(filter: AlertFilter = {}): Promise<Alert[]> {
    if (filter.kinds?.length === 0) return [];
    const rows = await this.#db()
      .selectFrom('alerts')
      .selectAll()
      .$if(filter.siteId !== undefined, (qb) => qb.where('site_id', '=', filter.siteId!))
      .$if(filter.deviceId !== undefined, (qb) => qb.where('device_id', '=', filter.deviceId!))
      .$if(filter.kinds !== undefined, (qb) => qb.where('kind', 'in', unique(filter.kinds)))
      .$if(filter.unacknowledgedOnly === true, (qb) => qb.where('acknowledged_at', 'is', null))
      .$if(filter.unresolvedOnly === true, (qb) => qb.where('resolved_at', 'is', null))
      .$if(filter.beforeId !== undefined, (qb) => qb.where('id', '<', filter.beforeId!))
      .orderBy('id', 'desc')
      .limit(clampLimit(filter.limit, 100, 1000))
      .execute();
    return rows.map(alertFromRow);
  }

  acknowledgeAlert(id: number, by: string): Promise<Alert> {
    return this.#stampAlert(id, { at: 'acknowledged_at', note: 'acknowledged_by' }, by);
  }

  resolveAlert(id: number, resolution: string): Promise<Alert> {
    return this.#stampAlert(id, { at: 'resolved_at', note: 'resolution' }, resolution);
  }

  /** Sets an alert's time and note columns once: a second acknowledgement or resolution keeps the first. */
  async #stampAlert(
    id: number,
    columns: { at: 'acknowledged_at'; note: 'acknowledged_by' } | { at: 'resolved_at'; note: 'resolution' },
    note: string,
  ): Promise<Alert> {
    const row = await this.#db()
      .updateTable('alerts')
      .set((eb) => ({
        [columns.at]: eb.fn.coalesce(columns.at, eb.val(this.now())),
        [columns.note]: eb.fn.coalesce(columns.note, eb.val(note)),
      }))
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw hubError(HubErrorCode.storeAlertUnknown, `alert ${id} does not exist`, { alertId: id });
    return alertFromRow(row);
  }

  // ---- people

  async #people(db: Db, rows: readonly Selectable<PeopleTable>[]): Promise<Person[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const groups = await db
      .selectFrom('person_groups')
      .selectAll()
      .where('person_id', 'in', ids)
      .orderBy('group_name')
      .execute();
    const sites = await db
      .selectFrom('person_sites')
      .selectAll()
      .where('person_id', 'in', ids)
      .orderBy('site_id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      displayName: row.display_name,
      externalId: row.external_id,
      groups: groups.filter((g) => g.person_id === row.id).map((g) => g.group_name),
      siteIds: sites.filter((s) => s.person_id === row.id).map((s) => s.site_id),
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      erasedAt: row.erased_at,
    }));
  }

  async #person(db: Db, id: string): Promise<Person | undefined> {
    const row = await db.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst();
    return row && (await this.#people(db, [row]))[0];
  }

  /** The person row, locked until the commit on PostgreSQL; throws when unknown or (unless allowed) erased. */
  async #lockPerson(db: Db, id: string, allowErased = false): Promise<Selectable<PeopleTable>> {
    const row = await db
      .selectFrom('people')
      .selectAll()
      .where('id', '=', id)
      .$if(this.#locks(db), (qb) => qb.forNoKeyUpdate())
      .executeTakeFirst();
    if (!row) throw personUnknown(id);
    if (row.erased_at !== null && !allowErased) throw personErased(id);
    return row;
  }

  async #checkSites(db: Db, siteIds: readonly string[]): Promise<void> {
    if (siteIds.length === 0) return;
    const found = await db.selectFrom('sites').select('id').where('id', 'in', siteIds).execute();
    const missing = siteIds.find((id) => !found.some((row) => row.id === id));
    if (missing !== undefined) throw siteUnknown(missing);
  }

  async #checkExternalId(db: Db, externalId: string | null | undefined, personId: string): Promise<void> {
    if (externalId === null || externalId === undefined) return;
    const holder = await db
      .selectFrom('people')
      .select('id')
      .where('external_id', '=', externalId)
      .where('erased_at', 'is', null)
      .where('id', '!=', personId)
      .executeTakeFirst();
    if (holder) throw externalIdTaken(externalId, holder.id);
  }

  async #setMemberships(db: Db, personId: string, groups?: readonly string[], siteIds?: readonly string[]) {
    if (groups !== undefined) {
      await db.deleteFrom('person_groups').where('person_id', '=', personId).execute();
      const values = unique(groups).map((group_name) => ({ person_id: personId, group_name }));
      if (values.length > 0) await db.insertInto('person_groups').values(values).execute();
    }
    if (siteIds !== undefined) {
      await db.deleteFrom('person_sites').where('person_id', '=', personId).execute();
      const values = unique(siteIds).map((site_id) => ({ person_id: personId, site_id }));
      if (values.length > 0) await db.insertInto('person_sites').values(values).execute();
    }
  }

  async createPerson(person: NewPerson): Promise<Person> {
    const id = randomUUID();
    return this.inTransaction(async (db) => {
      await this.#checkSites(db, unique(person.siteIds));
      await this.#checkExternalId(db, person.externalId, id);
      const now = this.now();
      try {
        await db
          .insertInto('people')
          .values({
            id,
            display_name: person.displayName,
            external_id: person.externalId ?? null,
            created_at: now,
            updated_at: now,
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error) && person.externalId) throw externalIdTaken(person.externalId, null);
        throw error;
      }
      await this.#setMemberships(db, id, person.groups ?? [], person.siteIds ?? []);
      return (await this.#person(db, id))!;
    });
  }

  async getPerson(id: string): Promise<Person | undefined> {
    return this.#person(this.#db(), id);
  }

  async getPersonByExternalId(externalId: string): Promise<Person | undefined> {
    const db = this.#db();
    const row = await db
      .selectFrom('people')
      .selectAll()
      .where('external_id', '=', externalId)
      .where('erased_at', 'is', null)
      .executeTakeFirst();
    return row && (await this.#people(db, [row]))[0];
  }

  async listPeople(filter: PersonFilter = {}): Promise<Person[]> {
    const db = this.#db();
    const rows = await db
      .selectFrom('people')
      .selectAll()
      .$if(filter.includeErased !== true, (qb) => qb.where('erased_at', 'is', null))
      .$if(filter.siteId !== undefined, (qb) =>
        qb.where('id', 'in', (eb) =>
          eb.selectFrom('person_sites').select('person_id').where('site_id', '=', filter.siteId!),
        ),
      )
      .$if(filter.group !== undefined, (qb) =>
        qb.where('id', 'in', (eb) =>
          eb.selectFrom('person_groups').select('person_id').where('group_name', '=', filter.group!),
        ),
      )
      .$if(filter.search !== undefined && filter.search !== '', (qb) => {
        const pattern = likePattern(filter.search!);
        return qb.where(
          sql<SqlBool>`(lower(display_name) like ${pattern} escape '\\' or lower(external_id) like ${pattern} escape '\\')`,
        );
      })
      .orderBy('display_name')
      .orderBy('id')
      .limit(clampLimit(filter.limit, 100, 10_000))
      .offset(Math.max(0, Math.trunc(filter.offset ?? 0)))
      .execute();
    return this.#people(db, rows);
  }

  async updatePerson(id: string, patch: PersonPatch): Promise<Person> {
    return this.inTransaction(async (db) => {
      await this.#lockPerson(db, id);
      if (patch.siteIds !== undefined) await this.#checkSites(db, unique(patch.siteIds));
      await this.#checkExternalId(db, patch.externalId, id);
      try {
        await db
          .updateTable('people')
          .set({
            updated_at: this.now(),
            ...(patch.displayName === undefined ? {} : { display_name: patch.displayName }),
            ...(patch.externalId === undefined ? {} : { external_id: patch.externalId }),
          })
          .where('id', '=', id)
          .execute();
      } catch (error) {
        if (isUniqueViolation(error) && patch.externalId) throw externalIdTaken(patch.externalId, null);
        throw error;
      }
      await this.#setMemberships(db, id, patch.groups, patch.siteIds);
      return (await this.#person(db, id))!;
    });
  }

  // ---- consent, templates, photos

  async recordConsent(consent: NewConsent): Promise<Consent> {
    return this.inTransaction(async (db) => {
      await this.#lockPerson(db, consent.personId);
      const row = await db
        .insertInto('consents')
        .values({
          id: randomUUID(),
          person_id: consent.personId,
          legal_basis: consent.legalBasis,
          notice_version: consent.noticeVersion,
          notice_text: consent.noticeText ?? null,
          recorded_by: consent.recordedBy,
          recorded_at: this.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return consentFromRow(row);
    });
  }

  async withdrawConsent(id: string, by: string): Promise<Consent> {
    return this.inTransaction(async (db) => {
      const consent = await db
        .selectFrom('consents')
        .select('person_id')
        .where('id', '=', id)
        .executeTakeFirst();
      if (!consent) {
        throw hubError(HubErrorCode.storeConsentUnknown, `consent record ${id} does not exist`, {
          consentId: id,
        });
      }
      // Serialises with addTemplate, which checks for an active consent under the same lock.
      await this.#lockPerson(db, consent.person_id, true);
      const row = await db
        .updateTable('consents')
        .set((eb) => ({
          withdrawn_at: eb.fn.coalesce('withdrawn_at', eb.val(this.now())),
          withdrawn_by: eb.fn.coalesce('withdrawn_by', eb.val(by)),
        }))
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return consentFromRow(row);
    });
  }

  async listConsents(personId: string): Promise<Consent[]> {
    const rows = await this.#db()
      .selectFrom('consents')
      .selectAll()
      .where('person_id', '=', personId)
      .orderBy('recorded_at')
      .orderBy('id')
      .execute();
    return rows.map(consentFromRow);
  }

  /** Templates and photos are biometric data: both need the person alive and an active consent. */
  async #checkConsent(db: Db, personId: string): Promise<void> {
    await this.#lockPerson(db, personId);
    const active = await db
      .selectFrom('consents')
      .select('id')
      .where('person_id', '=', personId)
      .where('withdrawn_at', 'is', null)
      .executeTakeFirst();
    if (!active) {
      throw hubError(
        HubErrorCode.storeConsentMissing,
        `person "${personId}" has no active consent or legal-basis record; record one before storing face data`,
        { personId },
      );
    }
  }

  async addTemplate(template: NewTemplate): Promise<TemplateRecord> {
    return this.inTransaction(async (db) => {
      await this.#checkConsent(db, template.personId);
      const row = await db
        .insertInto('templates')
        .values({
          id: randomUUID(),
          person_id: template.personId,
          model_pack_version: template.modelPackVersion,
          template: toBuffer(template.template),
          quality: template.quality,
          created_at: this.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return templateFromRow(row);
    });
  }

  async listTemplates(filter: TemplateFilter = {}): Promise<TemplateRecord[]> {
    const rows = await this.#db()
      .selectFrom('templates')
      .selectAll()
      .$if(filter.personId !== undefined, (qb) => qb.where('person_id', '=', filter.personId!))
      .$if(filter.modelPackVersion !== undefined, (qb) =>
        qb.where('model_pack_version', '=', filter.modelPackVersion!),
      )
      .$if(filter.siteId !== undefined, (qb) =>
        qb.where('person_id', 'in', (eb) =>
          eb.selectFrom('person_sites').select('person_id').where('site_id', '=', filter.siteId!),
        ),
      )
      .orderBy('person_id')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(templateFromRow);
  }

  async deleteTemplate(id: string): Promise<void> {
    const result = await this.#db().deleteFrom('templates').where('id', '=', id).executeTakeFirst();
    if (result.numDeletedRows === 0n) {
      throw hubError(HubErrorCode.storeTemplateUnknown, `template ${id} does not exist`, { templateId: id });
    }
  }

  async addPhoto(photo: NewPhoto): Promise<PhotoRecord> {
    return this.inTransaction(async (db) => {
      await this.#checkConsent(db, photo.personId);
      const row = await db
        .insertInto('photos')
        .values({
          id: randomUUID(),
          person_id: photo.personId,
          content_type: photo.contentType,
          photo: toBuffer(photo.photo),
          created_at: this.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return photoFromRow(row);
    });
  }

  async getPhoto(id: string): Promise<PhotoRecord | undefined> {
    const row = await this.#db().selectFrom('photos').selectAll().where('id', '=', id).executeTakeFirst();
    return row && photoFromRow(row);
  }

  async listPhotos(personId: string): Promise<PhotoRecord[]> {
    const rows = await this.#db()
      .selectFrom('photos')
      .selectAll()
      .where('person_id', '=', personId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(photoFromRow);
  }

  async deletePhoto(id: string): Promise<void> {
    const result = await this.#db().deleteFrom('photos').where('id', '=', id).executeTakeFirst();
    if (result.numDeletedRows === 0n) {
      throw hubError(HubErrorCode.storePhotoUnknown, `photo ${id} does not exist`, { photoId: id });
    }
  }

  // ---- roster

  async appendRosterChange(change: NewRosterChange): Promise<RosterChange> {
    return this.inTransaction(async (db) => {
      // Locked so that an enrolment racing an erasure waits for it and then sees the person erased.
      await this.#lockPerson(db, change.personId, change.kind === 'erase');
      // The increment locks the site row until the commit: concurrent writers, in this process or another
      // one, get consecutive numbers and commit in seq order.
      const site = await db
        .updateTable('sites')
        .set((eb) => ({ roster_seq: eb('roster_seq', '+', 1) }))
        .where('id', '=', change.siteId)
        .returning('roster_seq')
        .executeTakeFirst();
      if (!site) throw siteUnknown(change.siteId);
      const header = {
        siteId: change.siteId,
        seq: site.roster_seq,
        kind: change.kind,
        personId: change.personId,
        createdAt: this.now(),
      };
      const payload = toBuffer(await change.seal(header));
      await db
        .insertInto('roster_changes')
        .values({
          site_id: header.siteId,
          seq: header.seq,
          kind: header.kind,
          person_id: header.personId,
          payload,
          created_at: header.createdAt,
        })
        .execute();
      return { ...header, payload, purgedAt: null };
    });
  }

  async rosterChangesAfter(siteId: string, afterSeq: number, limit: number): Promise<RosterChange[]> {
    const rows = await this.#db()
      .selectFrom('roster_changes')
      .selectAll()
      .where('site_id', '=', siteId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(clampLimit(limit, limit, 1000))
      .execute();
    return rows.map(rosterFromRow);
  }

  async erasePerson(personId: string, options: { by: string; seal: RosterSealer }): Promise<ErasureResult> {
    return this.inTransaction(async (db, repository) => {
      await this.#lockPerson(db, personId);
      const now = this.now();
      const templates = await db.deleteFrom('templates').where('person_id', '=', personId).executeTakeFirst();
      const photos = await db.deleteFrom('photos').where('person_id', '=', personId).executeTakeFirst();
      await db
        .updateTable('consents')
        .set({ withdrawn_at: now, withdrawn_by: options.by })
        .where('person_id', '=', personId)
        .where('withdrawn_at', 'is', null)
        .execute();
      // Enrol and update payloads carry the person's sealed templates: each seq stays (agents syncing
      // later must not find a hole) and becomes an erasure.
      const earlier = await db
        .selectFrom('roster_changes')
        .select(['site_id', 'seq'])
        .where('person_id', '=', personId)
        .where('kind', '!=', 'erase')
        .orderBy('site_id')
        .orderBy('seq')
        .execute();
      for (const row of earlier) {
        const header = {
          siteId: row.site_id,
          seq: row.seq,
          kind: 'erase' as const,
          personId,
          createdAt: now,
        };
        await db
          .updateTable('roster_changes')
          .set({ kind: 'erase', payload: toBuffer(await options.seal(header)), purged_at: now })
          .where('site_id', '=', row.site_id)
          .where('seq', '=', row.seq)
          .execute();
      }
      await db
        .updateTable('people')
        .set({ erased_at: now, updated_at: now })
        .where('id', '=', personId)
        .execute();
      const person = (await this.#person(db, personId))!;
      const changes: RosterChange[] = [];
      for (const siteId of person.siteIds) {
        changes.push(
          await repository.appendRosterChange({ siteId, kind: 'erase', personId, seal: options.seal }),
        );
      }
      return {
        person,
        changes,
        templatesDeleted: Number(templates.numDeletedRows),
        photosDeleted: Number(photos.numDeletedRows),
        changesPurged: earlier.length,
      };
    });
  }

  async erasureStatus(personId: string): Promise<ErasureStatus> {
    const db = this.#db();
    const person = await db
      .selectFrom('people')
      .select('erased_at')
      .where('id', '=', personId)
      .executeTakeFirst();
    if (!person) throw personUnknown(personId);
    const rows = await db
      .selectFrom('roster_changes as r')
      .innerJoin('devices as d', 'd.site_id', 'r.site_id')
      .select(['r.site_id', 'r.seq', 'd.id as device_id', 'd.roster_seq_applied'])
      .where('r.person_id', '=', personId)
      .where('r.kind', '=', 'erase')
      .where('d.status', '=', 'active')
      .where('r.seq', '=', (eb) =>
        eb
          .selectFrom('roster_changes as last')
          .select((e) => e.fn.max('last.seq').as('seq'))
          .whereRef('last.site_id', '=', 'r.site_id')
          .where('last.person_id', '=', personId)
          .where('last.kind', '=', 'erase'),
      )
      .orderBy('r.site_id')
      .orderBy('d.id')
      .execute();
    const devices = rows.map((row) => ({
      siteId: row.site_id,
      seq: row.seq,
      deviceId: row.device_id,
      rosterSeqApplied: row.roster_seq_applied,
      confirmed: row.roster_seq_applied !== null && row.roster_seq_applied >= row.seq,
    }));
    return {
      personId,
      erasedAt: person.erased_at,
      devices,
      complete: person.erased_at !== null && devices.every((d) => d.confirmed),
    };
  }

  // ---- admin users, sessions, audit

  async createUser(user: NewUser): Promise<User> {
    const now = this.now();
    try {
      const row = await this.#db()
        .insertInto('users')
        .values({
          username: user.username,
          password_hash: user.passwordHash,
          role: user.role,
          site_scope: user.siteScope ? JSON.stringify(unique(user.siteScope)) : null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return userFromRow(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw hubError(HubErrorCode.storeUserExists, `user "${user.username}" already exists`, {
          username: user.username,
        });
      }
      throw error;
    }
  }

  async getUser(username: string): Promise<User | undefined> {
    const row = await this.#db()
      .selectFrom('users')
      .selectAll()
      .where('username', '=', username)
      .executeTakeFirst();
    return row && userFromRow(row);
  }

  async listUsers(): Promise<User[]> {
    const rows = await this.#db().selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(userFromRow);
  }

  async updateUser(username: string, patch: UserPatch): Promise<User> {
    const row = await this.#db()
      .updateTable('users')
      .set({
        updated_at: this.now(),
        ...(patch.passwordHash === undefined ? {} : { password_hash: patch.passwordHash }),
        ...(patch.role === undefined ? {} : { role: patch.role }),
        ...(patch.siteScope === undefined
          ? {}
          : { site_scope: patch.siteScope === null ? null : JSON.stringify(unique(patch.siteScope)) }),
      })
      .where('username', '=', username)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw userUnknown(username);
    return userFromRow(row);
  }

  async deleteUser(username: string): Promise<void> {
    await this.inTransaction(async (db) => {
      await db.deleteFrom('sessions').where('username', '=', username).execute();
      const result = await db.deleteFrom('users').where('username', '=', username).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw userUnknown(username);
    });
  }

  async createSession(session: NewSession): Promise<Session> {
    return this.inTransaction(async (db) => {
      const user = await db
        .selectFrom('users')
        .select('username')
        .where('username', '=', session.username)
        .executeTakeFirst();
      if (!user) throw userUnknown(session.username);
      const now = this.now();
      const row = await db
        .insertInto('sessions')
        .values({
          token_hash: session.tokenHash,
          username: session.username,
          csrf_hash: session.csrfHash,
          created_at: now,
          expires_at: session.expiresAt,
          last_used_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return sessionFromRow(row);
    });
  }

  async getSession(tokenHash: string): Promise<Session | undefined> {
    const row = await this.#db()
      .selectFrom('sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', this.now())
      .executeTakeFirst();
    return row && sessionFromRow(row);
  }

  async touchSession(tokenHash: string, expiresAt: number): Promise<void> {
    await this.#db()
      .updateTable('sessions')
      .set({ last_used_at: this.now(), expires_at: expiresAt })
      .where('token_hash', '=', tokenHash)
      .execute();
  }

  async deleteSession(tokenHash: string): Promise<void> {
    await this.#db().deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
  }

  async deleteExpiredSessions(): Promise<number> {
    const result = await this.#db()
      .deleteFrom('sessions')
      .where('expires_at', '<=', this.now())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async appendAudit(entry: NewAuditEntry): Promise<AuditEntry> {
    const row = await this.#db()
      .insertInto('audit_log')
      .values({
        at: this.now(),
        actor: entry.actor,
        action: entry.action,
        target: entry.target ?? null,
        details: JSON.stringify(entry.details ?? {}),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return auditFromRow(row);
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const rows = await this.#db()
      .selectFrom('audit_log')
      .selectAll()
      .$if(filter.actor !== undefined, (qb) => qb.where('actor', '=', filter.actor!))
      .$if(filter.action !== undefined, (qb) => qb.where('action', '=', filter.action!))
      .$if(filter.target !== undefined, (qb) => qb.where('target', '=', filter.target!))
      .$if(filter.from !== undefined, (qb) => qb.where('at', '>=', filter.from!))
      .$if(filter.to !== undefined, (qb) => qb.where('at', '<', filter.to!))
      .$if(filter.beforeId !== undefined, (qb) => qb.where('id', '<', filter.beforeId!))
      .orderBy('id', 'desc')
      .limit(clampLimit(filter.limit, 100, 1000))
      .execute();
    return rows.map(auditFromRow);
  }
}

function externalIdTaken(externalId: string, heldBy: string | null) {
  return hubError(
    HubErrorCode.storeExternalIdTaken,
    `external id "${externalId}" already belongs to another person`,
    { externalId, ...(heldBy ? { personId: heldBy } : {}) },
  );
}

export interface StoreOptions {
  /** Where credentials named by the config live ($CREDENTIALS_DIRECTORY). */
  secrets?: SecretEnvironment;
  /** The store's clock, in epoch milliseconds. */
  now?: () => number;
}

/** The hub's store: one Kysely implementation for both dialects. */
export class KyselyHubStore extends KyselyRepository implements HubStore {
  readonly dialect: DialectName;
  readonly #config: StoreConfig;
  readonly #logger: Logger;
  readonly #secrets: SecretEnvironment;
  readonly #handle: { db?: Db | undefined };

  constructor(config: StoreConfig, logger: Logger, options: StoreOptions = {}) {
    const handle: { db?: Db | undefined } = {};
    super(
      () => {
        if (!handle.db)
          throw hubError(HubErrorCode.storeNotStarted, 'the store is not started; call start() first');
        return handle.db;
      },
      config.type,
      options.now ?? Date.now,
    );
    this.dialect = config.type;
    this.#config = config;
    this.#logger = logger;
    this.#secrets = options.secrets ?? {};
    this.#handle = handle;
  }

  get #where(): string {
    return this.#config.type === 'sqlite' ? this.#config.path : scrubUrlCredentials(this.#config.url);
  }

  async start(): Promise<void> {
    if (this.#handle.db) return;
    let db: Db | undefined;
    try {
      db = new Kysely<Database>({
        dialect: createDialect(this.#config, this.#secrets, (error) =>
          this.#logger.warn({ err: error }, 'idle database connection failed; the pool replaces it'),
        ),
      });
      await sql`select 1`.execute(db);
    } catch (cause) {
      await db?.destroy();
      if (isTpError(cause)) throw cause;
      throw hubError(
        HubErrorCode.storeOpenFailed,
        `cannot open the ${this.dialect} store at ${this.#where}: ${(cause as Error).message}`,
        { dialect: this.dialect, where: this.#where },
        cause,
      );
    }
    const { error, results = [] } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) {
      await db.destroy();
      const failed = results.find((r) => r.status === 'Error')?.migrationName;
      throw hubError(
        HubErrorCode.storeMigrationFailed,
        `migrating the ${this.dialect} store at ${this.#where} failed${failed ? ` in ${failed}` : ''}: ${(error as Error).message}`,
        { dialect: this.dialect, where: this.#where, ...(failed ? { migration: failed } : {}) },
        error,
      );
    }
    await refreshPlannerStatistics(db);
    this.#handle.db = db;
    this.#logger.info(
      { dialect: this.dialect, where: this.#where, migrated: results.map((r) => r.migrationName) },
      'store ready',
    );
  }

  async stop(): Promise<void> {
    const db = this.#handle.db;
    this.#handle.db = undefined;
    if (db) {
      await refreshPlannerStatistics(db);
      await db.destroy();
      this.#logger.info({ dialect: this.dialect }, 'store closed');
    }
  }

  transaction<T>(work: (repository: HubRepository) => Promise<T>): Promise<T> {
    return this.inTransaction((_db, repository) => work(repository));
  }
}
