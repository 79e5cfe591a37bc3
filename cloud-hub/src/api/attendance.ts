// Attendance and events: first-in / last-out per person per site-local day (by site, door, person, group),
// the events themselves (newest first, keyset pagination), and counts per kind.
import { idSchema } from '@truepresence/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HubErrorCode, hubError } from '../errors.ts';
import type { EventFilter, EventKind } from '../store/index.ts';
import { assertSite, errorSchema } from './http.ts';
import { eventView, toEvent } from './views.ts';

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'write the date as YYYY-MM-DD');
const commaList = z.string().transform((text) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
const kinds = z.enum(['attendance', 'unknown', 'spoof']);
const doorList = commaList.pipe(z.array(idSchema).max(100));
const kindList = commaList.pipe(z.array(kinds));
const time = z.coerce.number().int().min(0).describe('Epoch milliseconds.');

const attendanceDay = z.strictObject({
  date: z.string().describe('Site-local date.'),
  siteId: idSchema,
  personId: z.string(),
  passes: z.number().int(),
  firstInAt: z.number().int().nullable(),
  firstInCameraId: z.string().nullable(),
  lastOutAt: z.number().int().nullable(),
  lastOutCameraId: z.string().nullable(),
  lastSeenAt: z.number().int(),
  lastCameraId: z.string(),
});

const eventQuery = z.strictObject({
  siteId: idSchema.optional(),
  deviceId: idSchema.optional(),
  cameraId: doorList.optional().describe('Doors, comma separated.'),
  personId: z.string().max(64).optional(),
  kind: kindList.optional().describe('Kinds, comma separated.'),
  from: time.optional().describe('capturedAt >= from (epoch ms).'),
  to: time.optional().describe('capturedAt < to (epoch ms).'),
});
type EventQuery = z.output<typeof eventQuery>;

function eventFilter(request: FastifyRequest, q: EventQuery): EventFilter {
  const scope = request.actor?.siteScope;
  if (q.siteId) assertSite(request, q.siteId);
  else if (scope) {
    if (scope.length !== 1)
      throw hubError(HubErrorCode.requestInvalid, 'name the siteId to query', { sites: scope });
  }
  const siteId = q.siteId ?? scope?.[0];
  return {
    ...(siteId ? { siteId } : {}),
    ...(q.deviceId ? { deviceId: q.deviceId } : {}),
    ...(q.cameraId ? { cameraIds: q.cameraId } : {}),
    ...(q.personId ? { personId: q.personId } : {}),
    ...(q.kind ? { kinds: q.kind as EventKind[] } : {}),
    ...(q.from === undefined ? {} : { from: q.from }),
    ...(q.to === undefined ? {} : { to: q.to }),
  };
}

export async function attendanceRoutes(app: FastifyInstance): Promise<void> {
  const attendanceQuery = z.strictObject({
    siteId: idSchema,
    from: date.describe('First site-local date, included.'),
    to: date.describe('Last site-local date, included (at most 366 days).'),
    personId: z.string().max(64).optional(),
    cameraId: doorList.optional().describe('Doors, comma separated.'),
    group: z.string().max(100).optional(),
  });
  app.get(
    '/attendance',
    {
      schema: {
        tags: ['attendance'],
        summary: 'First-in / last-out per person per site-local day',
        description: 'Passes without a direction count both as in and as out.',
        querystring: attendanceQuery,
        response: { 200: z.strictObject({ days: z.array(attendanceDay) }), 422: errorSchema },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof attendanceQuery>;
      assertSite(request, q.siteId);
      const days = await app.store.attendance({
        siteId: q.siteId,
        from: q.from,
        to: q.to,
        ...(q.personId ? { personId: q.personId } : {}),
        ...(q.cameraId ? { cameraIds: q.cameraId } : {}),
        ...(q.group ? { group: q.group } : {}),
      });
      return { days };
    },
  );

  const pageQuery = eventQuery.extend({
    order: z.enum(['desc', 'asc']).default('desc'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    after: z
      .string()
      .regex(/^\d+:[0-9a-f-]{36}$/, 'use the "next" cursor of the previous page')
      .optional()
      .describe('Cursor from the previous page.'),
  });
  app.get(
    '/events',
    {
      schema: {
        tags: ['attendance'],
        summary: 'Events, newest first by default',
        querystring: pageQuery,
        response: { 200: z.strictObject({ events: z.array(eventView), next: z.string().nullable() }) },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof pageQuery>;
      const [capturedAt, eventId] = q.after ? q.after.split(/:(.*)/s) : [];
      const events = await app.store.listEvents({
        ...eventFilter(request, q),
        order: q.order,
        limit: q.limit,
        ...(capturedAt && eventId ? { after: { capturedAt: Number(capturedAt), eventId } } : {}),
      });
      const last = events.at(-1);
      return {
        events: events.map(toEvent),
        next: events.length === q.limit && last ? `${last.capturedAt}:${last.eventId}` : null,
      };
    },
  );

  app.get(
    '/events/counts',
    {
      schema: {
        tags: ['attendance'],
        summary: 'Counts per kind',
        querystring: eventQuery,
        response: {
          200: z.strictObject({
            attendance: z.number().int(),
            unknown: z.number().int(),
            spoof: z.number().int(),
          }),
        },
      },
    },
    async (request) => app.store.countEvents(eventFilter(request, request.query as EventQuery)),
  );

  const eventParams = z.strictObject({ eventId: z.string().regex(/^[0-9a-f-]{36}$/) });
  app.get(
    '/events/:eventId',
    {
      schema: {
        tags: ['attendance'],
        summary: 'One event with its signed envelope (evidence)',
        params: eventParams,
        response: {
          200: eventView.extend({ envelope: z.record(z.string(), z.unknown()), envelopeHash: z.string() }),
          404: errorSchema,
        },
      },
    },
    async (request) => {
      const { eventId } = request.params as z.output<typeof eventParams>;
      const event = await app.store.getEvent(eventId);
      const scope = request.actor?.siteScope;
      if (!event || (scope && !scope.includes(event.siteId))) {
        throw hubError(HubErrorCode.notFound, `event ${eventId} does not exist`, { eventId });
      }
      return {
        ...toEvent(event),
        envelope: JSON.parse(event.envelope) as Record<string, unknown>,
        envelopeHash: event.envelopeHash,
      };
    },
  );
}
