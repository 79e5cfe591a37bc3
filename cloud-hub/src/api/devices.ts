// Devices: registration by provisioning (public key and broker password hash only), status, revocation, and
// the import of an offline registration file (`truepresence-provision ... --export FILE`).
import { idSchema, publicKeyFromBase64 } from '@truepresence/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HubErrorCode, hubError } from '../errors.ts';
import { parsePasswordHash } from '../passwords.ts';
import type { Device, HubRepository } from '../store/index.ts';
import { actorName, assertSite, errorSchema } from './http.ts';
import { createSite, newSiteSchema } from './sites.ts';
import { deviceView, toDevice } from './views.ts';

const newDeviceSchema = z.strictObject({
  id: idSchema,
  site: idSchema.describe('Site the device belongs to (created before).'),
  publicKey: z.string().describe('Ed25519 public key of the device, 32 bytes in base64url.'),
  brokerUsername: z.string().min(1).max(128).describe('Login of the device on the MQTT broker.'),
  brokerPasswordHash: z
    .string()
    .describe('scrypt hash of the broker password: "$scrypt$ln=15,r=8,p=1$SALT$HASH" (unpadded base64).'),
  profile: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('Device profile named in its bundle (kept in the audit log).'),
});
type NewDeviceBody = z.output<typeof newDeviceSchema>;

const revocationSchema = z.strictObject({
  site: idSchema.optional().describe("Site of the device; refused when it is not the device's site."),
  id: idSchema.optional().describe('Device id; refused when it is not the one in the path.'),
  reason: z.string().max(500).default('').describe('Why, for the audit log.'),
});

const deviceParams = z.strictObject({ deviceId: idSchema });

/** Checks formats before anything is stored, so that a bad key or hash is refused with what to fix. */
function checkDevice(body: NewDeviceBody): void {
  publicKeyFromBase64(body.publicKey);
  parsePasswordHash(body.brokerPasswordHash);
}

async function registerDevice(repo: HubRepository, body: NewDeviceBody, actor: string): Promise<Device> {
  const device = await repo.registerDevice({
    id: body.id,
    siteId: body.site,
    publicKey: body.publicKey,
    brokerUsername: body.brokerUsername,
    brokerPasswordHash: body.brokerPasswordHash,
  });
  await repo.appendAudit({
    actor,
    action: 'device.register',
    target: device.id,
    details: { siteId: device.siteId, brokerUsername: device.brokerUsername, profile: body.profile ?? null },
  });
  return device;
}

async function revokeDevice(
  repo: HubRepository,
  deviceId: string,
  body: z.output<typeof revocationSchema>,
  actor: string,
): Promise<Device> {
  const existing = await repo.getDevice(deviceId);
  if (!existing)
    throw hubError(HubErrorCode.storeDeviceUnknown, `device "${deviceId}" does not exist`, { deviceId });
  if ((body.site && body.site !== existing.siteId) || (body.id && body.id !== deviceId)) {
    throw hubError(
      HubErrorCode.storeDeviceSiteMismatch,
      `device "${deviceId}" belongs to site "${existing.siteId}", not "${body.site}"`,
      { deviceId, siteId: existing.siteId },
    );
  }
  const device = await repo.revokeDevice(deviceId);
  await repo.appendAudit({
    actor,
    action: 'device.revoke',
    target: deviceId,
    details: { siteId: device.siteId, reason: body.reason },
  });
  return device;
}

export async function deviceRoutes(app: FastifyInstance): Promise<void> {
  const view = async (device: Device) =>
    toDevice(device, (await app.store.getSite(device.siteId))?.rosterSeq);
  const listQuery = z.strictObject({ siteId: idSchema.optional() });

  app.get(
    '/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Devices with their last status',
        querystring: listQuery,
        response: { 200: z.strictObject({ devices: z.array(deviceView) }) },
      },
    },
    async (request) => {
      const { siteId } = request.query as z.output<typeof listQuery>;
      if (siteId) assertSite(request, siteId);
      const scope = request.actor?.siteScope;
      const sites = new Map((await app.store.listSites()).map((s) => [s.id, s.rosterSeq]));
      const devices = (await app.store.listDevices(siteId ? { siteId } : {})).filter(
        (d) => !scope || scope.includes(d.siteId),
      );
      return { devices: devices.map((d) => toDevice(d, sites.get(d.siteId))) };
    },
  );

  app.post(
    '/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'Register a provisioned device',
        body: newDeviceSchema,
        response: { 201: deviceView, 409: errorSchema, 422: errorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body as NewDeviceBody;
      checkDevice(body);
      const device = await app.store.transaction((repo) => registerDevice(repo, body, actorName(request)));
      app.devices.registered(device);
      reply.code(201);
      return view(device);
    },
  );

  app.get(
    '/devices/:deviceId',
    {
      schema: {
        tags: ['devices'],
        summary: 'One device',
        params: deviceParams,
        response: { 200: deviceView, 404: errorSchema },
      },
    },
    async (request: FastifyRequest) => {
      const { deviceId } = request.params as z.output<typeof deviceParams>;
      const device = await app.store.getDevice(deviceId);
      if (!device)
        throw hubError(HubErrorCode.storeDeviceUnknown, `device "${deviceId}" does not exist`, { deviceId });
      assertSite(request, device.siteId);
      return view(device);
    },
  );

  app.post(
    '/devices/:deviceId/revoke',
    {
      schema: {
        tags: ['devices'],
        summary: 'Revoke a device: the hub refuses its events, the embedded broker its login',
        params: deviceParams,
        body: revocationSchema.nullish(),
        response: { 200: deviceView, 404: errorSchema, 422: errorSchema },
      },
    },
    async (request) => {
      const { deviceId } = request.params as z.output<typeof deviceParams>;
      const body = (request.body ?? { reason: '' }) as z.output<typeof revocationSchema>;
      const device = await app.store.transaction((repo) =>
        revokeDevice(repo, deviceId, body, actorName(request)),
      );
      app.devices.revoked(device);
      return view(device);
    },
  );

  const entry = z.discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('site'),
      at: z.string(),
      site: newSiteSchema.required({ rosterKey: true }),
    }),
    z.strictObject({ kind: z.literal('device'), at: z.string(), device: newDeviceSchema }),
    z.strictObject({
      kind: z.literal('revocation'),
      at: z.string(),
      revocation: revocationSchema.required({ site: true, id: true }),
    }),
  ]);
  const registrationFile = z.strictObject({
    format: z.literal('truepresence-registrations'),
    version: z.literal(1),
    entries: z.array(entry).max(10_000),
  });
  const applied = z.array(z.strictObject({ kind: z.string(), id: z.string(), result: z.string() }));
  app.post(
    '/registrations',
    {
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        tags: ['devices'],
        summary: 'Import an offline registration file from provisioning',
        description:
          'Entries are applied in file order in one transaction; a site or device that exists already is skipped (result TP_HUB_STORE_SITE_EXISTS / _DEVICE_EXISTS), so importing a file twice is harmless.',
        body: registrationFile,
        response: { 200: z.strictObject({ entries: applied }), 422: errorSchema },
      },
    },
    async (request) => {
      const { entries } = request.body as z.output<typeof registrationFile>;
      for (const e of entries) if (e.kind === 'device') checkDevice(e.device);
      const actor = actorName(request);
      const result = await app.store.transaction(async (repo) => {
        const results: Array<{ kind: string; id: string; result: string }> = [];
        const registered: Device[] = [];
        const revoked: Device[] = [];
        for (const e of entries) {
          if (e.kind === 'site') {
            const exists = await repo.getSite(e.site.id);
            if (!exists) await createSite(app, repo, e.site, actor);
            results.push({
              kind: 'site',
              id: e.site.id,
              result: exists ? HubErrorCode.storeSiteExists : 'created',
            });
          } else if (e.kind === 'device') {
            const exists =
              (await repo.getDevice(e.device.id)) ??
              (await repo.getDeviceByBrokerUsername(e.device.brokerUsername));
            if (!exists) registered.push(await registerDevice(repo, e.device, actor));
            results.push({
              kind: 'device',
              id: e.device.id,
              result: exists ? HubErrorCode.storeDeviceExists : 'registered',
            });
          } else {
            revoked.push(await revokeDevice(repo, e.revocation.id, e.revocation, actor));
            results.push({ kind: 'revocation', id: e.revocation.id, result: 'revoked' });
          }
        }
        return { results, registered, revoked };
      });
      for (const device of result.registered) app.devices.registered(device);
      for (const device of result.revoked) app.devices.revoked(device);
      return { entries: result.results };
    },
  );
}
