// The ingestion part: events from the broker into the store, acknowledged after the commit.

import { availableParallelism } from 'node:os';
import fp from 'fastify-plugin';
import { Ingestion } from '../ingestion/ingestion.ts';
import { VerifierPool } from '../ingestion/verifier-pool.ts';

declare module 'fastify' {
  interface FastifyInstance {
    ingestion: Ingestion;
  }
}

export const ingestionPlugin = fp(
  async (app) => {
    const logger = app.hubLogger.child({ component: 'ingestion' });
    const threads = app.hubConfig.ingestion.verifyThreads ?? Math.min(4, availableParallelism() - 1);
    const ingestion = new Ingestion({
      store: app.store,
      registry: app.devices,
      broker: app.broker,
      metrics: app.metrics,
      alerts: app.deviceAlerts,
      parallelCommits:
        app.hubConfig.store.type === 'postgres' ? Math.max(1, app.hubConfig.store.poolSize - 2) : 1,
      verifier: new VerifierPool(threads, (error) =>
        logger.error({ err: error }, 'verification thread failed; replaced'),
      ),
      logger,
      config: app.hubConfig.ingestion,
    });
    app.decorate('ingestion', ingestion);
    app.mqttRouter.on('events', (message, site, device) => ingestion.handle(message, site, device));
    app.addHook('onReady', async () => ingestion.start());
    app.addHook('onClose', () => ingestion.stop());
  },
  { name: 'tp-ingestion', dependencies: ['tp-store', 'tp-devices', 'tp-broker'] },
);
