// What the API returns, as zod schemas (for the OpenAPI document) and the mappers from store records.
// Secrets never appear here: no password hashes, no site keys, no templates.
import { idSchema } from '@truepresence/protocol';
import { z } from 'zod';
import type {
  Alert,
  AuditEntry,
  Consent,
  Device,
  Person,
  Site,
  StoredEvent,
  TemplateRecord,
  User,
} from '../store/index.ts';

const epochMs = z.number().int().describe('Epoch milliseconds.');
const roles = ['admin', 'manager', 'viewer'] as const;

export const siteView = z.strictObject({
  id: idSchema,
  name: z.string(),
  timeZone: z.string().describe('IANA time zone attendance days are counted in.'),
  rosterSeq: z.number().int().describe('Latest roster seq of the site.'),
  createdAt: epochMs,
});
export const toSite = (s: Site): z.infer<typeof siteView> => ({ ...s });

export const deviceView = z.strictObject({
  id: idSchema,
  siteId: idSchema,
  publicKey: z.string().describe('Ed25519 public key, 32 bytes in base64url.'),
  brokerUsername: z.string(),
  status: z.enum(['active', 'revoked']),
  registeredAt: epochMs,
  revokedAt: epochMs.nullable(),
  lastSeenAt: epochMs.nullable(),
  online: z.boolean().describe("What the agent's retained status (or its last will) says."),
  backlog: z.number().int().nullable().describe("Events in the agent's outbox not yet acknowledged."),
  rosterSeqApplied: z.number().int().nullable(),
  rosterLag: z.number().int().nullable().describe('Site roster seq minus the seq the agent applied.'),
  modelPack: z.string().nullable(),
  statusAt: epochMs.nullable(),
  statusDetails: z.record(z.string(), z.unknown()).describe('Camera health, storage, agent version.'),
  chainSeq: z.number().int().nullable().describe('Highest per-device event seq stored.'),
});
export function toDevice(d: Device, siteRosterSeq: number | undefined): z.infer<typeof deviceView> {
  const applied = d.lastStatus?.rosterSeqApplied ?? null;
  return {
    id: d.id,
    siteId: d.siteId,
    publicKey: d.publicKey,
    brokerUsername: d.brokerUsername,
    status: d.status,
    registeredAt: d.registeredAt,
    revokedAt: d.revokedAt,
    lastSeenAt: d.lastSeenAt,
    online: d.status === 'active' && (d.lastStatus?.online ?? false),
    backlog: d.lastStatus?.backlog ?? null,
    rosterSeqApplied: applied,
    rosterLag: applied === null || siteRosterSeq === undefined ? null : Math.max(0, siteRosterSeq - applied),
    modelPack: d.lastStatus?.modelPackVersion ?? null,
    statusAt: d.lastStatus?.reportedAt ?? null,
    statusDetails: d.lastStatus?.details ?? {},
    chainSeq: d.chain?.seq ?? null,
  };
}

export const personView = z.strictObject({
  id: z.string(),
  displayName: z.string(),
  externalId: z.string().nullable().describe('HR number or similar.'),
  groups: z.array(z.string()),
  siteIds: z.array(idSchema),
  createdAt: epochMs,
  updatedAt: epochMs,
  erasedAt: epochMs.nullable(),
});
export const toPerson = (p: Person): z.infer<typeof personView> => ({ ...p });

export const legalBasisSchema = z
  .enum(['consent', 'contract', 'legal_obligation', 'legitimate_interest'])
  .describe('GDPR article 6/9 basis for processing the biometric template.');

export const consentView = z.strictObject({
  id: z.string(),
  personId: z.string(),
  legalBasis: legalBasisSchema,
  noticeVersion: z.string(),
  noticeText: z.string().nullable(),
  recordedBy: z.string(),
  recordedAt: epochMs,
  withdrawnAt: epochMs.nullable(),
  withdrawnBy: z.string().nullable(),
});
export const toConsent = (c: Consent): z.infer<typeof consentView> => ({ ...c });

export const templateView = z.strictObject({
  id: z.string(),
  personId: z.string(),
  modelPack: z.string(),
  quality: z.number().nullable().describe('Detector score of the enrolled face.'),
  createdAt: epochMs,
});
export const toTemplate = (t: TemplateRecord): z.infer<typeof templateView> => ({
  id: t.id,
  personId: t.personId,
  modelPack: t.modelPackVersion,
  quality: t.quality,
  createdAt: t.createdAt,
});

export const eventView = z.strictObject({
  eventId: z.string(),
  deviceId: idSchema,
  siteId: idSchema,
  cameraId: idSchema.describe('Camera, i.e. door.'),
  kind: z.enum(['attendance', 'unknown', 'spoof']),
  personId: z.string().nullable(),
  direction: z.enum(['in', 'out']).nullable(),
  capturedAt: epochMs,
  similarity: z.number().nullable(),
  margin: z.number().nullable(),
  liveness: z.number().nullable(),
  quality: z.number().nullable(),
  rosterSeq: z.number().int(),
  modelPack: z.string(),
  deviceSeq: z.number().int(),
  receivedAt: epochMs,
});
export const toEvent = (e: StoredEvent): z.infer<typeof eventView> => ({
  eventId: e.eventId,
  deviceId: e.deviceId,
  siteId: e.siteId,
  cameraId: e.cameraId,
  kind: e.kind,
  personId: e.personId,
  direction: e.direction,
  capturedAt: e.capturedAt,
  similarity: e.similarity,
  margin: e.margin,
  liveness: e.liveness,
  quality: e.quality,
  rosterSeq: e.rosterSeq,
  modelPack: e.modelPackVersion,
  deviceSeq: e.deviceSeq,
  receivedAt: e.receivedAt,
});

export const alertView = z.strictObject({
  id: z.number().int(),
  kind: z
    .string()
    .describe('sequence_gap, chain_break, replay, signature_bad, unknown_device, revoked_device, ...'),
  siteId: z.string().nullable(),
  deviceId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  createdAt: epochMs,
  acknowledgedAt: epochMs.nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: epochMs
    .nullable()
    .describe('When the hub found the condition settled (gap filled, agent caught up).'),
  resolution: z.string().nullable().describe('How it was settled.'),
});
export const toAlert = (a: Alert): z.infer<typeof alertView> => ({ ...a });

export const auditView = z.strictObject({
  id: z.number().int(),
  at: epochMs,
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export const toAudit = (a: AuditEntry): z.infer<typeof auditView> => ({ ...a });

export const userView = z.strictObject({
  username: z.string(),
  role: z.enum(roles),
  siteScope: z.array(idSchema).nullable().describe('Sites a manager or viewer may see; null for all.'),
  createdAt: epochMs,
  updatedAt: epochMs,
});
export const toUser = (u: User): z.infer<typeof userView> => ({
  username: u.username,
  role: u.role,
  siteScope: u.siteScope,
  createdAt: u.createdAt,
  updatedAt: u.updatedAt,
});

export const roleSchema = z.enum(roles);
