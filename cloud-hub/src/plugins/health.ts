// Liveness (/healthz: the process answers), readiness (/readyz: store and broker usable), both public, and
// Prometheus metrics (/metrics) for clients with the metrics token or on this machine (config `metrics`).
import fp from 'fastify-plugin';
import { metricsAccess } from '../api/metrics-access.ts';

export const healthPlugin = fp(
  async (app) => {
    app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
      const checks = {
        store: await app.store.getSite('-').then(
          () => true,
          () => false,
        ),
        broker: app.broker.isConnected(),
      };
      const ready = checks.store && checks.broker;
      reply.code(ready ? 200 : 503);
      return { status: ready ? 'ready' : 'not ready', checks, enrolmentModelsLoaded: app.faceModels.loaded };
    });
    const mayScrape = metricsAccess({
      token: app.keys.metricsToken,
      loopback: app.hubConfig.metrics.loopback,
    });
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      mayScrape(request);
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return app.metrics.render();
    });
  },
  { name: 'tp-health', dependencies: ['tp-store', 'tp-broker', 'tp-roster'] },
);
