// The store part: opens the configured HubStore (migrations included) when the hub starts, closes it last.
import fp from 'fastify-plugin';
import { type HubStore, openStore } from '../store/index.ts';

declare module 'fastify' {
  interface FastifyInstance {
    store: HubStore;
  }
}

export const storePlugin = fp(
  async (app) => {
    const store = openStore(app.hubConfig.store, app.hubLogger, { secrets: app.secrets });
    app.decorate('store', store);
    app.addHook('onReady', () => store.start());
    app.addHook('onClose', () => store.stop());
  },
  { name: 'tp-store', decorators: { fastify: ['hubConfig', 'hubLogger', 'secrets'] } },
);
