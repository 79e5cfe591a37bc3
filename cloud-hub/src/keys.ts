// The hub's own secrets: the Ed25519 key that signs roster changes, the data key that encrypts templates,
// photos and site roster keys at rest, and the admin API token. Each comes from a secret reference or, when
// none is configured, from a file in dataDir/keys generated on first start (mode 0600) and reused later.
// The metrics token is read only when configured.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  generateEd25519KeyPair,
  type HubSigningKey,
  parseKey32,
  privateKeyFromPem,
  privateKeyToPem,
  publicKeyToBase64,
  readSecret,
  type SecretEnvironment,
  type SecretRef,
} from '@truepresence/protocol';
import type { HubConfig } from './config.ts';
import { HubErrorCode, hubError } from './errors.ts';

export interface HubKeys {
  signing: HubSigningKey;
  /** Raw 32-byte Ed25519 public key in base64url, as agents are given it. */
  signingPublicKey: string;
  dataKey: Buffer;
  adminToken: string;
  /** Bearer token of /metrics, when configured. */
  metricsToken: string | null;
}

/** Writes a new secret file unless one exists (another process may have written it first). */
function createSecretFile(path: string, content: () => string): void {
  try {
    writeFileSync(path, content(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw hubError(
        HubErrorCode.dataDirUnwritable,
        `cannot create ${path}; check the permissions of dataDir`,
        {
          path,
        },
        error,
      );
    }
  }
}

function secretOrGenerated(
  ref: SecretRef | null,
  keysDir: string,
  fileName: string,
  generate: () => string,
  secrets: SecretEnvironment,
): Buffer {
  if (ref) return readSecret(ref, secrets);
  try {
    mkdirSync(keysDir, { recursive: true, mode: 0o700 });
    chmodSync(keysDir, 0o700);
  } catch (error) {
    throw hubError(
      HubErrorCode.dataDirUnwritable,
      `cannot create ${keysDir}; check the permissions of dataDir`,
      {
        path: keysDir,
      },
      error,
    );
  }
  const path = join(keysDir, fileName);
  createSecretFile(path, generate);
  return readSecret({ file: path }, secrets);
}

export function loadHubKeys(config: HubConfig, secrets: SecretEnvironment): HubKeys {
  const keysDir = join(config.dataDir, 'keys');
  const pem = secretOrGenerated(
    config.keys.hubSigningKey,
    keysDir,
    'hub-signing.pem',
    () => privateKeyToPem(generateEd25519KeyPair().privateKey),
    secrets,
  );
  let privateKey: HubSigningKey['privateKey'];
  try {
    privateKey = privateKeyFromPem(pem);
  } catch (error) {
    throw hubError(
      HubErrorCode.keyInvalid,
      'the hub signing key is not an Ed25519 private key in PKCS#8 PEM',
      {},
      error,
    );
  }
  const dataKey = parseKey32(
    secretOrGenerated(
      config.keys.dataKey,
      keysDir,
      'data.key',
      () => `${randomBytes(32).toString('base64url')}\n`,
      secrets,
    ),
    'the data key',
    HubErrorCode.keyInvalid,
  );
  const adminToken = secretOrGenerated(
    config.auth.adminToken,
    keysDir,
    'admin-api-token',
    () => `${randomBytes(32).toString('base64url')}\n`,
    secrets,
  )
    .toString('utf8')
    .trim();
  if (adminToken.length < 20) {
    throw hubError(HubErrorCode.keyInvalid, 'the admin API token must be at least 20 characters', {});
  }
  const metricsToken =
    config.metrics.token && readSecret(config.metrics.token, secrets).toString('utf8').trim();
  if (metricsToken !== null && metricsToken.length < 20) {
    throw hubError(HubErrorCode.keyInvalid, 'the metrics token must be at least 20 characters', {});
  }
  return {
    signing: { id: config.keys.hubKeyId, privateKey },
    signingPublicKey: publicKeyToBase64(privateKey),
    dataKey,
    adminToken,
    metricsToken,
  };
}
