// Sites and their roster keys. Provisioning (init-site) creates a site with the roster key it made for the
// site's agents; without one the hub makes the key and returns it once.

import type { SiteKey } from '@truepresence/protocol';
import { idSchema } from '@truepresence/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HubErrorCode, hubError } from '../errors.ts';
import type { HubRepository, Site } from '../store/index.ts';
import { actorName, assertSite, errorSchema } from './http.ts';
import { siteView, toSite } from './views.ts';

const rosterKeySchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .describe('Key id agents look the key up by.'),
    key: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'expected 32 bytes in base64url (43 characters)')
      .describe('AES-256 key, 32 bytes in base64url.'),
  })
  .describe('Site roster key (secret).');

export const newSiteSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1).max(200),
  timeZone: z.string().min(1).default('UTC').describe('IANA time zone, e.g. "Europe/Paris".'),
  rosterKey: rosterKeySchema
    .optional()
    .describe('The key made by provisioning; left out, the hub makes one.'),
});

const siteParams = z.strictObject({ siteId: idSchema });

/** Inside a transaction: the site, its roster key (made here when not given), and the audit entry. */
export async function createSite(
  app: FastifyInstance,
  repo: HubRepository,
  body: z.output<typeof newSiteSchema>,
  actor: string,
): Promise<{ site: Site; key: SiteKey }> {
  const given = body.rosterKey && {
    id: body.rosterKey.id,
    key: Buffer.from(body.rosterKey.key, 'base64url'),
  };
  const site = await repo.createSite({ id: body.id, name: body.name, timeZone: body.timeZone });
  const key = await app.keyring.add(repo, site.id, given);
  await repo.appendAudit({
    actor,
    action: 'site.create',
    target: site.id,
    details: { name: site.name, timeZone: site.timeZone, rosterKeyId: key.id, keyMadeByHub: !given },
  });
  return { site, key };
}

export async function siteRoutes(app: FastifyInstance): Promise<void> {
  app.get(
    '/sites',
    {
      schema: {
        tags: ['sites'],
        summary: 'List sites',
        response: { 200: z.strictObject({ sites: z.array(siteView) }) },
      },
    },
    async (request) => {
      const scope = request.actor?.siteScope;
      const sites = (await app.store.listSites()).filter((s) => !scope || scope.includes(s.id));
      return { sites: sites.map(toSite) };
    },
  );

  app.post(
    '/sites',
    {
      schema: {
        tags: ['sites'],
        summary: 'Create a site with its roster key',
        body: newSiteSchema,
        response: {
          201: z.strictObject({
            site: siteView,
            rosterKey: rosterKeySchema.nullable().describe('Only when the hub made it.'),
          }),
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof newSiteSchema>;
      const { site, key } = await app.store.transaction((repo) =>
        createSite(app, repo, body, actorName(request)),
      );
      reply.code(201);
      return {
        site: toSite(site),
        rosterKey: body.rosterKey ? null : { id: key.id, key: key.key.toString('base64url') },
      };
    },
  );

  app.get(
    '/sites/:siteId',
    {
      schema: {
        tags: ['sites'],
        summary: 'One site',
        params: siteParams,
        response: { 200: siteView, 404: errorSchema },
      },
    },
    async (request) => {
      const { siteId } = request.params as z.output<typeof siteParams>;
      assertSite(request, siteId);
      const site = await app.store.getSite(siteId);
      if (!site) throw hubError(HubErrorCode.storeSiteUnknown, `site "${siteId}" does not exist`, { siteId });
      return toSite(site);
    },
  );

  const sitePatch = z.strictObject({
    name: z.string().min(1).max(200).optional(),
    timeZone: z.string().min(1).optional(),
  });
  app.patch(
    '/sites/:siteId',
    {
      schema: {
        tags: ['sites'],
        summary: 'Rename a site or change its time zone',
        params: siteParams,
        body: sitePatch,
        response: { 200: siteView },
      },
    },
    async (request) => {
      const { siteId } = request.params as z.output<typeof siteParams>;
      const patch = request.body as z.output<typeof sitePatch>;
      const site = await app.store.transaction(async (repo) => {
        const site = await repo.updateSite(siteId, {
          ...(patch.name === undefined ? {} : { name: patch.name }),
          ...(patch.timeZone === undefined ? {} : { timeZone: patch.timeZone }),
        });
        await repo.appendAudit({
          actor: actorName(request),
          action: 'site.update',
          target: siteId,
          details: { ...patch },
        });
        return site;
      });
      return toSite(site);
    },
  );
}
