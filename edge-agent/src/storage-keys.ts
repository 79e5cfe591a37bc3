// What opening the agent's stores needs from its config: the storage key and the model pack the vector
// cache holds templates of.
import { loadManifest, packId } from '@truepresence/model-pack';
import { parseKey32, readSecret, type SecretEnvironment } from '@truepresence/protocol';
import type { AgentConfig } from './config.ts';
import { AgentErrorCode } from './errors.ts';

/** The provisioned key both stores derive their own file keys from. */
export function storageKey(config: AgentConfig, secrets: SecretEnvironment): Buffer {
  return parseKey32(readSecret(config.keys.cache, secrets), 'the cache key', AgentErrorCode.cacheKeyInvalid);
}

/** The model pack the cache holds templates of, from the manifest alone (before the models load). */
export async function cacheModelPack(config: AgentConfig): Promise<string> {
  const { manifest } = await loadManifest(config.models.manifest, config.models.cacheDir);
  return packId(manifest);
}
