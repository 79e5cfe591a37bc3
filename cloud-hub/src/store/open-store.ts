import type { Logger } from '@truepresence/protocol';
import type { StoreConfig } from './config.ts';
import type { HubStore } from './hub-store.ts';
import { KyselyHubStore, type StoreOptions } from './kysely-store.ts';

/** The store the config names, not yet started: call `start()` (opens it and runs migrations), then `stop()`. */
export function openStore(config: StoreConfig, logger: Logger, options: StoreOptions = {}): HubStore {
  return new KyselyHubStore(config, logger.child({ component: 'store' }), options);
}
