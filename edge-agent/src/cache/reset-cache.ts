import { rmSync } from 'node:fs';
import type { Logger, SecretEnvironment } from '@truepresence/protocol';
import type { AgentConfig } from '../config.ts';
import { cacheModelPack, storageKey } from '../storage-keys.ts';
import { VectorCache } from './vector-cache.ts';

/**
 * `truepresence-agent reset-cache`: replaces the vector cache with an empty one for this agent's model pack
 * (after a model pack change, a schema change or a damaged file). Run with the agent stopped. The cache only
 * holds a copy of the hub's roster, so the agent refills it with a sync from seq 0 when it next connects; the
 * outbox, and with it the event chain, is left as it is.
 */
export async function resetVectorCache(
  config: AgentConfig,
  deps: { secrets: SecretEnvironment; logger: Logger },
): Promise<{ path: string; modelPack: string }> {
  const modelPack = await cacheModelPack(config);
  const key = storageKey(config, deps.secrets);
  const path = config.cache.path;
  for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
  VectorCache.open({ config: config.cache, key, modelPack, create: true, logger: deps.logger }).close();
  deps.logger.info(
    { path, modelPack },
    'vector cache reset: it refills from the hub roster on the next connect',
  );
  return { path, modelPack };
}
