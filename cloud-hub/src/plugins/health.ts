// Liveness (/healthz: the process answers), readiness (/readyz: store and broker usable) and Prometheus
// metrics (/metrics).
import fp from 'fastify-plugin';

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
    app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      return app.metrics.render();
    });
  },
  { name: 'tp-health', dependencies: ['tp-store', 'tp-broker', 'tp-roster'] },
);
