// Device alerts (hash-chain gaps and breaks, refused events, sync lag, clock skew, cameras, storage) and the
// audit log.
import { idSchema } from '@truepresence/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type AlertKind, alertKinds } from '../store/index.ts';
import { actorName, assertSite, errorSchema } from './http.ts';
import { alertView, auditView, toAlert, toAudit } from './views.ts';

export async function alertRoutes(app: FastifyInstance): Promise<void> {
  const alertQuery = z.strictObject({
    siteId: idSchema.optional(),
    deviceId: idSchema.optional(),
    kind: z
      .string()
      .transform((t) => t.split(',').filter(Boolean))
      .pipe(z.array(z.enum(alertKinds)))
      .optional()
      .describe(`Kinds, comma separated: ${alertKinds.join(', ')}.`),
    unacknowledged: z
      .enum(['true', 'false'])
      .default('false')
      .transform((v) => v === 'true')
      .describe('true: only open alerts, neither acknowledged nor resolved by the hub.'),
    beforeId: z.coerce.number().int().optional().describe('Page: alerts older than this id.'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  });
  app.get(
    '/alerts',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, newest first',
        querystring: alertQuery,
        response: { 200: z.strictObject({ alerts: z.array(alertView) }) },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof alertQuery>;
      if (q.siteId) assertSite(request, q.siteId);
      const scope = request.actor?.siteScope;
      const alerts = await app.store.listAlerts({
        ...(q.siteId ? { siteId: q.siteId } : {}),
        ...(q.deviceId ? { deviceId: q.deviceId } : {}),
        ...(q.kind ? { kinds: q.kind as AlertKind[] } : {}),
        unacknowledgedOnly: q.unacknowledged,
        unresolvedOnly: q.unacknowledged,
        ...(q.beforeId === undefined ? {} : { beforeId: q.beforeId }),
        limit: q.limit,
      });
      return {
        alerts: alerts.filter((a) => !scope || (a.siteId !== null && scope.includes(a.siteId))).map(toAlert),
      };
    },
  );

  const alertParams = z.strictObject({ alertId: z.coerce.number().int().min(1) });
  app.post(
    '/alerts/:alertId/acknowledge',
    {
      config: { roles: ['admin', 'manager'] },
      schema: {
        tags: ['alerts'],
        summary: 'Acknowledge an alert',
        params: alertParams,
        response: { 200: alertView, 404: errorSchema },
      },
    },
    async (request) => {
      const { alertId } = request.params as z.output<typeof alertParams>;
      const alert = await app.store.transaction(async (repo) => {
        const alert = await repo.acknowledgeAlert(alertId, actorName(request));
        if (alert.siteId) assertSite(request, alert.siteId);
        await repo.appendAudit({
          actor: actorName(request),
          action: 'alert.acknowledge',
          target: String(alertId),
          details: { kind: alert.kind },
        });
        return alert;
      });
      return toAlert(alert);
    },
  );

  const auditQuery = z.strictObject({
    actor: z.string().max(100).optional(),
    action: z.string().max(100).optional(),
    target: z.string().max(100).optional(),
    from: z.coerce.number().int().optional().describe('at >= from (epoch ms).'),
    to: z.coerce.number().int().optional().describe('at < to (epoch ms).'),
    beforeId: z.coerce.number().int().optional(),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  });
  app.get(
    '/audit',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['audit'],
        summary: 'Audit log (append-only), newest first',
        querystring: auditQuery,
        response: { 200: z.strictObject({ entries: z.array(auditView) }) },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof auditQuery>;
      const entries = await app.store.listAudit({
        ...(q.actor ? { actor: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.target ? { target: q.target } : {}),
        ...(q.from === undefined ? {} : { from: q.from }),
        ...(q.to === undefined ? {} : { to: q.to }),
        ...(q.beforeId === undefined ? {} : { beforeId: q.beforeId }),
        limit: q.limit,
      });
      return { entries: entries.map(toAudit) };
    },
  );
}
