// buildHub: the hub as a fastify app made of plugins, in the order they start (and the reverse of the order
// they stop): store, devices, broker, status, ingestion, roster and enrolment, sync, auth, web page, API,
// health.
// main.ts only parses the config and listens; tests call buildHub and use inject() and real brokers.
import type { Logger, SecretEnvironment } from '@truepresence/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { HubConfig } from './config.ts';
import { DataCipher } from './data-cipher.ts';
import { type HubKeys, loadHubKeys } from './keys.ts';
import { HubMetrics } from './metrics.ts';
import { apiPlugin } from './plugins/api.ts';
import { authPlugin } from './plugins/auth.ts';
import { brokerPlugin } from './plugins/broker.ts';
import { devicesPlugin, statusPlugin } from './plugins/devices.ts';
import { healthPlugin } from './plugins/health.ts';
import { ingestionPlugin } from './plugins/ingestion.ts';
import { rosterPlugin, syncPlugin } from './plugins/roster.ts';
import { storePlugin } from './plugins/store.ts';
import { webPagePlugin } from './web/web-page.ts';

declare module 'fastify' {
  interface FastifyInstance {
    hubConfig: HubConfig;
    hubLogger: Logger;
    secrets: SecretEnvironment;
    keys: HubKeys;
    cipher: DataCipher;
    metrics: HubMetrics;
  }
}

export interface HubDeps {
  logger: Logger;
  /** Where systemd credentials are ($CREDENTIALS_DIRECTORY), read by main from the environment. */
  secrets?: SecretEnvironment;
  /** Receives the random password of the first admin user, created on a hub without users. */
  onFirstAdminPassword?: (password: string) => void;
}

/** Builds the hub; nothing runs until `ready()` / `listen()`, and `close()` stops every part in reverse. */
export async function buildHub(config: HubConfig, deps: HubDeps): Promise<FastifyInstance> {
  const secrets = deps.secrets ?? {};
  const keys = loadHubKeys(config, secrets);
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.http.trustProxy,
  });
  app.decorate('hubConfig', config);
  app.decorate('hubLogger', deps.logger);
  app.decorate('secrets', secrets);
  app.decorate('keys', keys);
  app.decorate('cipher', new DataCipher(keys.dataKey));
  app.decorate('metrics', new HubMetrics());
  await app.register(storePlugin);
  await app.register(devicesPlugin);
  await app.register(brokerPlugin);
  await app.register(statusPlugin);
  await app.register(ingestionPlugin);
  await app.register(rosterPlugin);
  await app.register(syncPlugin);
  await app.register(authPlugin, { onFirstAdminPassword: deps.onFirstAdminPassword });
  await app.register(webPagePlugin);
  await app.register(apiPlugin);
  await app.register(healthPlugin);
  return app;
}
