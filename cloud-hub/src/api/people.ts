// People, their consent or legal-basis records, enrolment photos, templates, and erasure with its
// confirmation per device. Managers act on the people of their sites; viewers only read.
import { idSchema } from '@truepresence/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HubErrorCode, hubError } from '../errors.ts';
import type { HubRepository, Person } from '../store/index.ts';
import { actorName, assertSite, errorSchema, seesAny } from './http.ts';
import {
  consentView,
  legalBasisSchema,
  personView,
  templateView,
  toConsent,
  toPerson,
  toTemplate,
} from './views.ts';

const writers = ['admin', 'manager'] as const;
const personParams = z.strictObject({ personId: z.string().min(1).max(64) });
const consentBody = z.strictObject({
  legalBasis: legalBasisSchema,
  noticeVersion: z
    .string()
    .min(1)
    .max(100)
    .describe('Version or id of the privacy notice the person was shown.'),
  noticeText: z
    .string()
    .max(20_000)
    .nullable()
    .default(null)
    .describe('The notice text, if it should be kept.'),
});
const newPersonBody = z.strictObject({
  displayName: z.string().trim().min(1).max(200),
  externalId: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .nullable()
    .default(null)
    .describe('HR number or similar; unique.'),
  groups: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
  siteIds: z.array(idSchema).max(100).default([]).describe('Sites whose agents recognise the person.'),
  consent: consentBody.optional().describe('Record the consent or legal basis together with the person.'),
});
const personPatch = z.strictObject({
  displayName: z.string().trim().min(1).max(200).optional(),
  externalId: z.string().trim().min(1).max(100).nullable().optional(),
  groups: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
  siteIds: z.array(idSchema).max(100).optional(),
});
const erasureView = z.strictObject({
  personId: z.string(),
  erasedAt: z.number().int().nullable(),
  complete: z
    .boolean()
    .describe("Erased, and every active device of the person's sites has applied the erase change."),
  devices: z.array(
    z.strictObject({
      siteId: idSchema,
      seq: z.number().int().describe('Roster seq of the erase change.'),
      deviceId: idSchema,
      rosterSeqApplied: z.number().int().nullable(),
      confirmed: z.boolean(),
    }),
  ),
});
const photoTypes = ['image/jpeg', 'image/png', 'image/webp'];

export async function peopleRoutes(app: FastifyInstance): Promise<void> {
  const maxPhotoBytes = app.hubConfig.enrolment.maxPhotoBytes;
  app.addContentTypeParser(
    photoTypes,
    { parseAs: 'buffer', bodyLimit: maxPhotoBytes },
    (_request, body, done) => done(null, body),
  );

  /** The person, if the actor may see them (a scoped actor sees the people of their sites). */
  const visiblePerson = async (request: FastifyRequest, personId: string): Promise<Person> => {
    const person = await app.store.getPerson(personId);
    if (!person || !seesAny(request, person.siteIds)) {
      throw hubError(HubErrorCode.storePersonUnknown, `person "${personId}" does not exist`, { personId });
    }
    return person;
  };
  const checkSites = (request: FastifyRequest, siteIds: readonly string[]) => {
    for (const siteId of siteIds) assertSite(request, siteId);
  };

  const listQuery = z.strictObject({
    siteId: idSchema.optional(),
    group: z.string().optional(),
    search: z.string().max(100).optional().describe('Part of the name or external id, any case.'),
    includeErased: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    offset: z.coerce.number().int().min(0).default(0),
  });
  app.get(
    '/people',
    {
      schema: {
        tags: ['people'],
        summary: 'List and search people',
        querystring: listQuery,
        response: { 200: z.strictObject({ people: z.array(personView) }) },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof listQuery>;
      if (q.siteId) assertSite(request, q.siteId);
      const people = await app.store.listPeople({
        ...(q.siteId ? { siteId: q.siteId } : {}),
        ...(q.group ? { group: q.group } : {}),
        ...(q.search ? { search: q.search } : {}),
        includeErased: q.includeErased,
        limit: q.limit,
        offset: q.offset,
      });
      return { people: people.filter((p) => seesAny(request, p.siteIds)).map(toPerson) };
    },
  );

  app.post(
    '/people',
    {
      config: { roles: writers },
      schema: {
        tags: ['people'],
        summary: 'Add a person (optionally with their consent or legal-basis record)',
        body: newPersonBody,
        response: {
          201: z.strictObject({ person: personView, consent: consentView.nullable() }),
          409: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof newPersonBody>;
      checkSites(request, body.siteIds);
      if (request.actor?.siteScope && body.siteIds.length === 0) {
        throw hubError(HubErrorCode.authForbidden, 'give the person at least one of your sites');
      }
      const actor = actorName(request);
      const result = await app.store.transaction(async (repo) => {
        const person = await repo.createPerson({
          displayName: body.displayName,
          externalId: body.externalId,
          groups: body.groups,
          siteIds: body.siteIds,
        });
        await repo.appendAudit({
          actor,
          action: 'person.create',
          target: person.id,
          details: { externalId: person.externalId, groups: person.groups, siteIds: person.siteIds },
        });
        const consent = body.consent ? await recordConsent(repo, person.id, body.consent, actor) : null;
        return { person, consent };
      });
      reply.code(201);
      return { person: toPerson(result.person), consent: result.consent && toConsent(result.consent) };
    },
  );

  const personDetail = personView.extend({
    consents: z.array(consentView),
    templates: z.array(templateView),
  });
  app.get(
    '/people/:personId',
    {
      schema: {
        tags: ['people'],
        summary: 'A person with consents and templates',
        params: personParams,
        response: { 200: personDetail, 404: errorSchema },
      },
    },
    async (request) => {
      const { personId } = request.params as z.output<typeof personParams>;
      const person = await visiblePerson(request, personId);
      const [consents, templates] = await Promise.all([
        app.store.listConsents(personId),
        app.store.listTemplates({ personId }),
      ]);
      return { ...toPerson(person), consents: consents.map(toConsent), templates: templates.map(toTemplate) };
    },
  );

  app.patch(
    '/people/:personId',
    {
      config: { roles: writers },
      schema: {
        tags: ['people'],
        summary: 'Edit a person; a change of sites sends or erases their templates there',
        params: personParams,
        body: personPatch,
        response: { 200: personView, 404: errorSchema, 409: errorSchema },
      },
    },
    async (request) => {
      const { personId } = request.params as z.output<typeof personParams>;
      const patch = request.body as z.output<typeof personPatch>;
      const before = await visiblePerson(request, personId);
      if (patch.siteIds) {
        const after = patch.siteIds;
        checkSites(request, [
          ...after.filter((s) => !before.siteIds.includes(s)),
          ...before.siteIds.filter((s) => !after.includes(s)),
        ]);
      }
      const { person, changes } = await app.store.transaction(async (repo) => {
        const person = await repo.updatePerson(personId, {
          ...(patch.displayName === undefined ? {} : { displayName: patch.displayName }),
          ...(patch.externalId === undefined ? {} : { externalId: patch.externalId }),
          ...(patch.groups === undefined ? {} : { groups: patch.groups }),
          ...(patch.siteIds === undefined ? {} : { siteIds: patch.siteIds }),
        });
        const changes = patch.siteIds
          ? await app.roster.sitesChanged(repo, personId, before.siteIds, person.siteIds)
          : [];
        await repo.appendAudit({
          actor: actorName(request),
          action: 'person.update',
          target: personId,
          details: {
            ...patch,
            rosterChanges: changes.map((c) => ({ siteId: c.siteId, seq: c.seq, kind: c.kind })),
          },
        });
        return { person, changes };
      });
      await app.roster.publish(changes);
      return toPerson(person);
    },
  );

  app.delete(
    '/people/:personId',
    {
      config: { roles: writers },
      schema: {
        tags: ['people'],
        summary:
          'Erase a person: templates and photos everywhere, agents included; follow the confirmation per device',
        params: personParams,
        response: {
          200: z.strictObject({
            erasure: erasureView,
            templatesDeleted: z.number().int(),
            photosDeleted: z.number().int(),
            changesResealed: z.number().int().describe('Earlier roster changes re-sealed as erasures.'),
          }),
          404: errorSchema,
          409: errorSchema,
        },
      },
    },
    async (request) => {
      const { personId } = request.params as z.output<typeof personParams>;
      await visiblePerson(request, personId);
      const actor = actorName(request);
      const result = await app.store.transaction(async (repo) => {
        const result = await app.roster.erase(repo, personId, actor);
        await repo.appendAudit({
          actor,
          action: 'person.erase',
          target: personId,
          details: {
            templatesDeleted: result.templatesDeleted,
            photosDeleted: result.photosDeleted,
            changesResealed: result.changesPurged,
            rosterChanges: result.changes.map((c) => ({ siteId: c.siteId, seq: c.seq })),
          },
        });
        return result;
      });
      await app.roster.publish(result.changes);
      return {
        erasure: await app.store.erasureStatus(personId),
        templatesDeleted: result.templatesDeleted,
        photosDeleted: result.photosDeleted,
        changesResealed: result.changesPurged,
      };
    },
  );

  app.get(
    '/people/:personId/erasure',
    {
      schema: {
        tags: ['people'],
        summary: 'Erasure confirmation per device',
        params: personParams,
        response: { 200: erasureView, 404: errorSchema },
      },
    },
    async (request) => {
      const { personId } = request.params as z.output<typeof personParams>;
      await visiblePerson(request, personId);
      return app.store.erasureStatus(personId);
    },
  );

  app.get(
    '/people/:personId/consents',
    {
      schema: {
        tags: ['consent'],
        summary: 'Consent and legal-basis records',
        params: personParams,
        response: { 200: z.strictObject({ consents: z.array(consentView) }) },
      },
    },
    async (request) => {
      const { personId } = request.params as z.output<typeof personParams>;
      await visiblePerson(request, personId);
      return { consents: (await app.store.listConsents(personId)).map(toConsent) };
    },
  );

  app.post(
    '/people/:personId/consents',
    {
      config: { roles: writers },
      schema: {
        tags: ['consent'],
        summary: 'Record consent or another legal basis',
        params: personParams,
        body: consentBody,
        response: { 201: consentView, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { personId } = request.params as z.output<typeof personParams>;
      await visiblePerson(request, personId);
      const body = request.body as z.output<typeof consentBody>;
      const consent = await app.store.transaction((repo) =>
        recordConsent(repo, personId, body, actorName(request)),
      );
      reply.code(201);
      return toConsent(consent);
    },
  );

  const consentParams = personParams.extend({ consentId: z.string().min(1).max(64) });
  app.post(
    '/people/:personId/consents/:consentId/withdraw',
    {
      config: { roles: writers },
      schema: {
        tags: ['consent'],
        summary: "Withdraw a consent; with no basis left, the person's templates are deleted everywhere",
        params: consentParams,
        response: {
          200: z.strictObject({ consent: consentView, templatesDeleted: z.number().int() }),
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const { personId, consentId } = request.params as z.output<typeof consentParams>;
      const person = await visiblePerson(request, personId);
      const actor = actorName(request);
      const result = await app.store.transaction(async (repo) => {
        const existing = (await repo.listConsents(personId)).find((c) => c.id === consentId);
        if (!existing)
          throw hubError(
            HubErrorCode.storeConsentUnknown,
            `consent ${consentId} of person "${personId}" does not exist`,
          );
        const consent = await repo.withdrawConsent(consentId, actor);
        const remaining = (await repo.listConsents(personId)).filter((c) => c.withdrawnAt === null);
        const templates = remaining.length === 0 ? await repo.listTemplates({ personId }) : [];
        for (const template of templates) await repo.deleteTemplate(template.id);
        const changes =
          templates.length > 0
            ? await app.roster.templatesChanged(repo, personId, person.siteIds, false)
            : [];
        await repo.appendAudit({
          actor,
          action: 'consent.withdraw',
          target: personId,
          details: {
            consentId,
            templatesDeleted: templates.length,
            rosterChanges: changes.map((c) => ({ siteId: c.siteId, seq: c.seq })),
          },
        });
        return { consent, templatesDeleted: templates.length, changes };
      });
      await app.roster.publish(result.changes);
      return { consent: toConsent(result.consent), templatesDeleted: result.templatesDeleted };
    },
  );

  const enrolView = z.strictObject({
    template: templateView,
    alignedFace: z
      .string()
      .describe('The aligned 112x112 face as a PNG data URL, for the operator to check.'),
    face: z.strictObject({
      box: z.strictObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
      score: z.number(),
      quality: z
        .record(z.string(), z.number())
        .describe('Face size, eye distance, sharpness, brightness, pose.'),
    }),
    rosterChanges: z.array(z.strictObject({ siteId: idSchema, seq: z.number().int(), kind: z.string() })),
  });
  app.post(
    '/people/:personId/photos',
    {
      config: { roles: writers },
      bodyLimit: maxPhotoBytes,
      schema: {
        tags: ['enrolment'],
        summary: 'Enrol a photo (body: the JPEG, PNG or WebP file itself)',
        description:
          'Refusals are 422 with one of TP_HUB_ENROL_NO_FACE, _SEVERAL_FACES, _FACE_TOO_SMALL, _TOO_BLURRED, _TOO_DARK, _TOO_BRIGHT, _POSE, _DUPLICATE (details.personId names who it looks like), _IMAGE_UNREADABLE, _TOO_MANY_TEMPLATES, or TP_HUB_STORE_CONSENT_MISSING / TP_HUB_PERSON_NO_SITE.',
        params: personParams,
        consumes: photoTypes,
        response: { 201: enrolView, 413: errorSchema, 415: errorSchema, 422: errorSchema },
      },
    },
    async (request, reply) => {
      const { personId } = request.params as z.output<typeof personParams>;
      await visiblePerson(request, personId);
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!Buffer.isBuffer(request.body)) {
        throw hubError(
          HubErrorCode.mediaTypeUnsupported,
          `send the photo itself with Content-Type ${photoTypes.join(', ')}`,
        );
      }
      const result = await app.enrolment.enrol(personId, request.body, contentType, actorName(request));
      reply.code(201);
      return {
        template: result.template,
        alignedFace: result.alignedFace,
        face: { box: result.face.box, score: result.face.score, quality: { ...result.face.quality } },
        rosterChanges: result.changes.map((c) => ({ siteId: c.siteId, seq: c.seq, kind: c.kind })),
      };
    },
  );

  app.get(
    '/people/:personId/templates',
    {
      schema: {
        tags: ['enrolment'],
        summary: 'Templates of a person (no vectors)',
        params: personParams,
        response: { 200: z.strictObject({ templates: z.array(templateView) }) },
      },
    },
    async (request) => {
      const { personId } = request.params as z.output<typeof personParams>;
      await visiblePerson(request, personId);
      return { templates: (await app.store.listTemplates({ personId })).map(toTemplate) };
    },
  );

  const templateParams = personParams.extend({ templateId: z.string().min(1).max(64) });
  app.delete(
    '/people/:personId/templates/:templateId',
    {
      config: { roles: writers },
      schema: {
        tags: ['enrolment'],
        summary: "Delete one template; agents get the person's remaining set",
        params: templateParams,
        response: { 204: z.null(), 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { personId, templateId } = request.params as z.output<typeof templateParams>;
      const person = await visiblePerson(request, personId);
      const changes = await app.store.transaction(async (repo) => {
        const templates = await repo.listTemplates({ personId });
        if (!templates.some((t) => t.id === templateId)) {
          throw hubError(
            HubErrorCode.storeTemplateUnknown,
            `template ${templateId} of person "${personId}" does not exist`,
          );
        }
        await repo.deleteTemplate(templateId);
        const changes = await app.roster.templatesChanged(repo, personId, person.siteIds, false);
        await repo.appendAudit({
          actor: actorName(request),
          action: 'template.delete',
          target: personId,
          details: { templateId, rosterChanges: changes.map((c) => ({ siteId: c.siteId, seq: c.seq })) },
        });
        return changes;
      });
      await app.roster.publish(changes);
      return reply.code(204).send();
    },
  );
}

async function recordConsent(
  repo: HubRepository,
  personId: string,
  body: z.output<typeof consentBody>,
  actor: string,
) {
  const consent = await repo.recordConsent({
    personId,
    legalBasis: body.legalBasis,
    noticeVersion: body.noticeVersion,
    noticeText: body.noticeText,
    recordedBy: actor,
  });
  await repo.appendAudit({
    actor,
    action: 'consent.record',
    target: personId,
    details: { consentId: consent.id, legalBasis: consent.legalBasis, noticeVersion: consent.noticeVersion },
  });
  return consent;
}
