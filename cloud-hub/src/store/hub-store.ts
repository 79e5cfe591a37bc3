// What the hub keeps, as one repository interface over SQLite and PostgreSQL. Times are epoch milliseconds;
// ids the store creates are random UUIDs; bytes are Buffers. Every method that changes a row takes an
// explicit `at` only where the time is a fact of the outside world (capture, receipt); otherwise the store's
// clock stamps it.
import type { ChainNeighbours } from '@truepresence/protocol';

export type EventKind = 'attendance' | 'unknown' | 'spoof';
export type Direction = 'in' | 'out';
export type DeviceState = 'active' | 'revoked';
export type RosterChangeKind = 'enrol' | 'update' | 'erase';
export type Role = 'admin' | 'manager' | 'viewer';

export interface Site {
  id: string;
  name: string;
  /** IANA name; attendance days are counted in it. */
  timeZone: string;
  /** Last roster seq handed out (0 before the first change). */
  rosterSeq: number;
  createdAt: number;
}

export interface NewSite {
  id: string;
  name: string;
  timeZone: string;
}

export interface NewSiteKey {
  siteId: string;
  keyId: string;
  /** The site's roster key, already encrypted by the caller with the hub's data key. */
  sealedKey: Uint8Array;
}

export interface SiteKeyRecord {
  siteId: string;
  keyId: string;
  sealedKey: Buffer;
  createdAt: number;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export interface DeviceStatus {
  online: boolean;
  backlog: number | null;
  rosterSeqApplied: number | null;
  modelPackVersion: string | null;
  /** The rest of the agent's status payload (camera health, storage...). */
  details: Record<string, unknown>;
  reportedAt: number;
}

export interface Device {
  id: string;
  siteId: string;
  /** Ed25519 public key, raw 32 bytes in base64. */
  publicKey: string;
  brokerUsername: string;
  brokerPasswordHash: string;
  status: DeviceState;
  registeredAt: number;
  revokedAt: number | null;
  /** Last status or event received from it. */
  lastSeenAt: number | null;
  lastStatus: DeviceStatus | null;
  /** Highest-seq envelope stored for it, or null before its first event. */
  chain: ChainHead | null;
}

export interface NewDevice {
  id: string;
  siteId: string;
  publicKey: string;
  brokerUsername: string;
  brokerPasswordHash: string;
}

/** A status message from an agent. Absent fields keep their stored value (a last will says only offline). */
export interface DeviceStatusReport {
  online: boolean;
  backlog?: number;
  rosterSeqApplied?: number;
  modelPackVersion?: string;
  details?: Record<string, unknown>;
}

/** One verified envelope, flattened. `envelope` is the signed JSON exactly as received. */
export interface NewEvent {
  eventId: string;
  deviceId: string;
  siteId: string;
  cameraId: string;
  kind: EventKind;
  personId: string | null;
  direction: Direction | null;
  capturedAt: number;
  similarity: number | null;
  margin: number | null;
  liveness: number | null;
  quality: number | null;
  rosterSeq: number;
  modelPackVersion: string;
  deviceSeq: number;
  prevHash: string;
  envelopeHash: string;
  envelope: string;
  receivedAt: number;
}

export type StoredEvent = NewEvent;

export type InsertEventStatus = 'inserted' | 'duplicate';

export interface EventFilter {
  siteId?: string;
  deviceId?: string;
  /** Door. */
  cameraIds?: readonly string[];
  personId?: string;
  kinds?: readonly EventKind[];
  /** capturedAt >= from. */
  from?: number;
  /** capturedAt < to. */
  to?: number;
}

export interface EventPage extends EventFilter {
  /** Newest first (default) or oldest first. */
  order?: 'desc' | 'asc';
  /** Continue after this event (keyset pagination on capturedAt, eventId). */
  after?: { capturedAt: number; eventId: string };
  /** 1..1000, default 100. */
  limit?: number;
}

export type EventCounts = Record<EventKind, number>;

export interface AttendanceQuery {
  siteId: string;
  /** Site-local dates, both included; at most 366 days. */
  from: string;
  to: string;
  personId?: string;
  /** Doors. */
  cameraIds?: readonly string[];
  /** Only people in this group. */
  group?: string;
}

/** One person on one site-local day. Passes without a direction count both as in and as out. */
export interface AttendanceDay {
  date: string;
  siteId: string;
  personId: string;
  passes: number;
  firstInAt: number | null;
  firstInCameraId: string | null;
  lastOutAt: number | null;
  lastOutCameraId: string | null;
  lastSeenAt: number;
  lastCameraId: string;
}

export const alertKinds = [
  'sequence_gap',
  'chain_break',
  'replay',
  'signature_bad',
  'unknown_device',
  'revoked_device',
  'device_mismatch',
  'sync_lag',
  'clock_skew',
  'camera_down',
  'storage_low',
] as const;
export type AlertKind = (typeof alertKinds)[number];

export interface NewAlert {
  kind: AlertKind;
  siteId: string | null;
  deviceId: string | null;
  details: Record<string, unknown>;
}

export interface Alert extends NewAlert {
  id: number;
  createdAt: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  /** When the hub found the condition settled (a gap filled, an agent caught up), and why. */
  resolvedAt: number | null;
  resolution: string | null;
}

export interface AlertFilter {
  siteId?: string;
  deviceId?: string;
  kinds?: readonly AlertKind[];
  unacknowledgedOnly?: boolean;
  unresolvedOnly?: boolean;
  /** Ids below this one (pagination, newest first). */
  beforeId?: number;
  limit?: number;
}

export interface Person {
  id: string;
  displayName: string;
  /** HR number or similar; unique among people not erased. */
  externalId: string | null;
  groups: string[];
  siteIds: string[];
  createdAt: number;
  updatedAt: number;
  erasedAt: number | null;
}

export interface NewPerson {
  displayName: string;
  externalId?: string | null;
  groups?: readonly string[];
  siteIds?: readonly string[];
}

export interface PersonPatch {
  displayName?: string;
  externalId?: string | null;
  groups?: readonly string[];
  siteIds?: readonly string[];
}

export interface PersonFilter {
  siteId?: string;
  group?: string;
  /** Case-insensitive substring of the name or the external id. */
  search?: string;
  includeErased?: boolean;
  limit?: number;
  offset?: number;
}

export type LegalBasis = 'consent' | 'contract' | 'legal_obligation' | 'legitimate_interest';

export interface NewConsent {
  personId: string;
  legalBasis: LegalBasis;
  /** Version (or id) of the notice the person was shown. */
  noticeVersion: string;
  noticeText?: string | null;
  recordedBy: string;
}

export interface Consent {
  id: string;
  personId: string;
  legalBasis: LegalBasis;
  noticeVersion: string;
  noticeText: string | null;
  recordedBy: string;
  recordedAt: number;
  withdrawnAt: number | null;
  withdrawnBy: string | null;
}

export interface NewTemplate {
  personId: string;
  modelPackVersion: string;
  /** Already encrypted by the caller. */
  template: Uint8Array;
  quality: number | null;
}

export interface TemplateRecord {
  id: string;
  personId: string;
  modelPackVersion: string;
  template: Buffer;
  quality: number | null;
  createdAt: number;
}

export interface TemplateFilter {
  personId?: string;
  siteId?: string;
  modelPackVersion?: string;
}

export interface NewPhoto {
  personId: string;
  contentType: string;
  photo: Uint8Array;
}

export interface PhotoRecord {
  id: string;
  personId: string;
  contentType: string;
  photo: Buffer;
  createdAt: number;
}

/** What a roster change is before its payload exists: the seq is allocated first, then sealed into it. */
export interface RosterChangeHeader {
  siteId: string;
  seq: number;
  kind: RosterChangeKind;
  personId: string;
  createdAt: number;
}

/** Builds the sealed payload once the seq is known; runs inside the allocating transaction. */
export type RosterSealer = (header: RosterChangeHeader) => Uint8Array | Promise<Uint8Array>;

export interface NewRosterChange {
  siteId: string;
  kind: RosterChangeKind;
  personId: string;
  seal: RosterSealer;
}

export interface RosterChange extends RosterChangeHeader {
  payload: Buffer;
  /**
   * Set when the person's erasure re-sealed this earlier enrol or update as an erase of the same seq: the
   * seq stays (no gaps for agents syncing later), the sealed templates are gone.
   */
  purgedAt: number | null;
}

export interface ErasureResult {
  person: Person;
  /** The erase change appended for each of the person's sites. */
  changes: RosterChange[];
  templatesDeleted: number;
  photosDeleted: number;
  /** Earlier enrol and update changes of the person re-sealed as erasures. */
  changesPurged: number;
}

export interface ErasureConfirmation {
  siteId: string;
  seq: number;
  deviceId: string;
  rosterSeqApplied: number | null;
  /** The device reported a roster seq at or past the erase change. */
  confirmed: boolean;
}

export interface ErasureStatus {
  personId: string;
  erasedAt: number | null;
  /** One row per active device of each site the erasure went to. */
  devices: ErasureConfirmation[];
  /** The person is erased and every one of those devices has confirmed. */
  complete: boolean;
}

export interface User {
  username: string;
  passwordHash: string;
  role: Role;
  /** Sites a manager or viewer may see; null for all. */
  siteScope: string[] | null;
  createdAt: number;
  updatedAt: number;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: Role;
  siteScope?: readonly string[] | null;
}

export interface UserPatch {
  passwordHash?: string;
  role?: Role;
  siteScope?: readonly string[] | null;
}

export interface Session {
  tokenHash: string;
  username: string;
  csrfHash: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number;
}

export interface NewSession {
  tokenHash: string;
  username: string;
  csrfHash: string;
  expiresAt: number;
}

export interface NewAuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string;
  action?: string;
  target?: string;
  from?: number;
  to?: number;
  beforeId?: number;
  limit?: number;
}

/** Every read and write of the hub's data. Errors are TpErrors with TP_HUB_STORE_* codes. */
export interface HubRepository {
  createSite(site: NewSite): Promise<Site>;
  getSite(id: string): Promise<Site | undefined>;
  listSites(): Promise<Site[]>;
  updateSite(id: string, patch: { name?: string; timeZone?: string }): Promise<Site>;
  addSiteKey(key: NewSiteKey): Promise<SiteKeyRecord>;
  /** Newest first: the first one seals new roster changes. */
  listSiteKeys(siteId: string): Promise<SiteKeyRecord[]>;

  registerDevice(device: NewDevice): Promise<Device>;
  getDevice(id: string): Promise<Device | undefined>;
  getDeviceByBrokerUsername(username: string): Promise<Device | undefined>;
  listDevices(filter?: { siteId?: string }): Promise<Device[]>;
  revokeDevice(id: string): Promise<Device>;
  recordDeviceStatus(id: string, report: DeviceStatusReport): Promise<void>;

  /**
   * What is stored around `seq` in the device's chain, for `checkChain` from the protocol. Inside
   * {@link HubStore.transaction} it also locks the device's chain until the commit, so that replicas
   * receiving the same device's events decide one after the other.
   */
  chainNeighbours(deviceId: string, eventId: string, seq: number): Promise<ChainNeighbours>;
  /**
   * (Hub core, ingestion batches.) `chainNeighbours` for many events in two statements, answers in the
   * order asked; locks the devices in id order inside a transaction.
   */
  chainNeighboursMany(
    events: ReadonlyArray<{ deviceId: string; eventId: string; seq: number }>,
  ): Promise<ChainNeighbours[]>;
  /**
   * Stores an event once: a second insert of the same id is a no-op that says "duplicate". In the same
   * transaction the device's chain head moves to this event when its seq is the highest so far, and its
   * last-seen time advances.
   */
  insertEvent(event: NewEvent): Promise<InsertEventStatus>;
  /** The same for many events in one transaction and a few statements (micro-batches, imports). */
  insertEvents(events: readonly NewEvent[]): Promise<InsertEventStatus[]>;
  getEvent(eventId: string): Promise<StoredEvent | undefined>;
  listEvents(page: EventPage): Promise<StoredEvent[]>;
  countEvents(filter: EventFilter): Promise<EventCounts>;
  /** How many of the device's seqs fromSeq..toSeq (both included) have a stored event. */
  countStoredSeqs(deviceId: string, fromSeq: number, toSeq: number): Promise<number>;
  /** First-in / last-out per person per site-local day, oldest day first, then by person id. */
  attendance(query: AttendanceQuery): Promise<AttendanceDay[]>;

  addAlert(alert: NewAlert): Promise<Alert>;
  listAlerts(filter?: AlertFilter): Promise<Alert[]>;
  acknowledgeAlert(id: number, by: string): Promise<Alert>;
  /** Marks the alert settled by the hub; the first resolution stays. */
  resolveAlert(id: number, resolution: string): Promise<Alert>;

  createPerson(person: NewPerson): Promise<Person>;
  getPerson(id: string): Promise<Person | undefined>;
  getPersonByExternalId(externalId: string): Promise<Person | undefined>;
  listPeople(filter?: PersonFilter): Promise<Person[]>;
  updatePerson(id: string, patch: PersonPatch): Promise<Person>;

  recordConsent(consent: NewConsent): Promise<Consent>;
  withdrawConsent(id: string, by: string): Promise<Consent>;
  listConsents(personId: string): Promise<Consent[]>;

  /** Refused with TP_HUB_STORE_CONSENT_MISSING unless the person has a consent not withdrawn. */
  addTemplate(template: NewTemplate): Promise<TemplateRecord>;
  listTemplates(filter?: TemplateFilter): Promise<TemplateRecord[]>;
  deleteTemplate(id: string): Promise<void>;

  addPhoto(photo: NewPhoto): Promise<PhotoRecord>;
  getPhoto(id: string): Promise<PhotoRecord | undefined>;
  listPhotos(personId: string): Promise<PhotoRecord[]>;
  deletePhoto(id: string): Promise<void>;

  /** Gives the site's next roster seq (no gaps, no duplicates, across processes) and stores the change. */
  appendRosterChange(change: NewRosterChange): Promise<RosterChange>;
  /** Changes with seq > afterSeq, in seq order, at most `limit`. */
  rosterChangesAfter(siteId: string, afterSeq: number, limit: number): Promise<RosterChange[]>;

  /**
   * In one transaction: deletes the person's templates and photos, withdraws their consents, re-seals each
   * of their earlier enrol and update changes as an erase of the same seq (their payloads held templates),
   * marks them erased and appends an erase change to each of their sites. `seal` is called with kind
   * "erase" for every one of those; `by` names who asked, for the consent records.
   */
  erasePerson(personId: string, options: { by: string; seal: RosterSealer }): Promise<ErasureResult>;
  /** Which devices have applied the person's erase changes, from each device's reported roster seq. */
  erasureStatus(personId: string): Promise<ErasureStatus>;

  createUser(user: NewUser): Promise<User>;
  getUser(username: string): Promise<User | undefined>;
  listUsers(): Promise<User[]>;
  updateUser(username: string, patch: UserPatch): Promise<User>;
  /** Also ends the user's sessions. */
  deleteUser(username: string): Promise<void>;

  createSession(session: NewSession): Promise<Session>;
  /** The session, if it exists and has not expired. */
  getSession(tokenHash: string): Promise<Session | undefined>;
  touchSession(tokenHash: string, expiresAt: number): Promise<void>;
  deleteSession(tokenHash: string): Promise<void>;
  deleteExpiredSessions(): Promise<number>;

  /** The audit log is append-only: there is no method to change or remove an entry. */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  /** Newest first. */
  listAudit(filter?: AuditFilter): Promise<AuditEntry[]>;
}

export interface HubStore extends HubRepository {
  readonly dialect: 'sqlite' | 'postgres';
  /** Opens the database and runs pending migrations. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Runs `work` in one transaction: all its changes commit together or none do. Use only the repository
   * it receives inside it (on SQLite the store's single connection is held by the transaction).
   */
  transaction<T>(work: (repository: HubRepository) => Promise<T>): Promise<T>;
}
