// What opening the agent's stores needs from its config: the storage key and the model pack the vector
// cache holds templates of.
import { loadManifest } from '@truepresence/model-pack';
import { readSecret, type SecretEnvironment, TpError } from '@truepresence/protocol';
import type { AgentConfig } from './config.ts';
import { AgentErrorCode } from './errors.ts';

/** A 32-byte key kept as base64url text (as provisioning writes it) or as raw bytes. */
export function key32(bytes: Buffer, what: string, code: string): Buffer {
  if (bytes.length === 32) return bytes;
  const decoded = Buffer.from(bytes.toString('utf8').trim(), 'base64url');
  if (decoded.length !== 32) throw new TpError(code, `${what} must be 32 bytes (base64url or raw)`);
  return decoded;
}

/** The provisioned key both stores derive their own file keys from. */
export function storageKey(config: AgentConfig, secrets: SecretEnvironment): Buffer {
  return key32(readSecret(config.keys.cache, secrets), 'the cache key', AgentErrorCode.cacheKeyInvalid);
}

/** The model pack the cache holds templates of, from the manifest alone (before the models load). */
export async function cacheModelPack(config: AgentConfig): Promise<string> {
  const { manifest } = await loadManifest(config.models.manifest, config.models.cacheDir);
  return `${manifest.name}@${manifest.version}`;
}
