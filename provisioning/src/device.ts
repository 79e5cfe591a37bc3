// add-device and revoke-device. The device key pair, broker password and cache key are made here and
// written only into the bundle; the hub gets the public key and a scrypt hash of the password.
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  generateEd25519KeyPair,
  type Logger,
  privateKeyToPem,
  publicKeyToBase64,
} from '@truepresence/protocol';
import {
  AGENT_CONFIG_FILE,
  agentConfigFor,
  BUNDLE_README_FILE,
  type BundleFacts,
  bundleReadme,
  bundleSecretFiles,
  DEVICE_PUBLIC_KEY_FILE,
  type SecretRefStyle,
} from './bundle.ts';
import { ProvisionErrorCode, provisionError } from './errors.ts';
import type { Registrar } from './registrars/registrar.ts';
import type { DeviceRegistration, DeviceRevocation } from './registration.ts';
import {
  ensureDir,
  hashBrokerPassword,
  makePrivateDir,
  moveIntoPlace,
  newBrokerPassword,
  newKey32,
  writePrivateFile,
} from './secrets.ts';
import type { Site } from './site.ts';

export interface AddDeviceOptions {
  site: Site;
  id: string;
  profile: string;
  /** Overrides the site's broker URL. */
  brokerUrl: string | undefined;
  /** Bundle folder; SITE_DIR/devices/DEVICE by default. */
  out: string | undefined;
  secretRefs: SecretRefStyle;
  /** With secretRefs "file": where the files will be; the bundle folder itself by default. */
  installDir: string | undefined;
  now?: Date;
}

/** What add-device made. The secrets are returned for --show-secrets only; callers print nothing else of them. */
export interface DeviceBundle {
  dir: string;
  registration: DeviceRegistration;
  facts: BundleFacts;
  secrets: { brokerPassword: string; cacheKey: string; siteKey: string; deviceKeyPem: string };
}

export function brokerUsernameOf(site: string, device: string): string {
  // "." never occurs in ids, so the name is unambiguous.
  return `${site}.${device}`;
}

/**
 * Writes the bundle beside its final place, registers the device, then moves the bundle into place. A refused
 * registration leaves no bundle; a bundle never exists for a device the hub does not know.
 */
export async function addDevice(
  options: AddDeviceOptions,
  registrar: Registrar,
  logger: Logger,
): Promise<DeviceBundle> {
  const { site } = options;
  const dir = resolve(options.out ?? join(site.dir, 'devices', options.id));
  if (existsSync(dir)) {
    throw provisionError(
      ProvisionErrorCode.bundleExists,
      `${dir} exists; a device id is provisioned once (revoke it and use a new id to replace a device)`,
      { dir, device: options.id },
    );
  }
  const hubKey = (await registrar.hubKey()) ?? site.file.hubKey;
  if (hubKey.publicKey !== site.file.hubKey.publicKey || hubKey.keyId !== site.file.hubKey.keyId) {
    logger.warn(
      { site: site.file.id, was: site.file.hubKey.keyId, now: hubKey.keyId },
      'the hub signing key differs from the one recorded at init-site; the bundle gets the hub key of today',
    );
  }
  const pair = generateEd25519KeyPair();
  const brokerPassword = newBrokerPassword();
  const registration: DeviceRegistration = {
    id: options.id,
    site: site.file.id,
    publicKey: publicKeyToBase64(pair.publicKey),
    brokerUsername: brokerUsernameOf(site.file.id, options.id),
    brokerPasswordHash: await hashBrokerPassword(brokerPassword),
    profile: options.profile,
  };
  const facts: BundleFacts = {
    site: site.file.id,
    siteName: site.file.name,
    device: options.id,
    profile: options.profile,
    brokerUrl: options.brokerUrl ?? site.file.brokerUrl,
    brokerUsername: registration.brokerUsername,
    rosterKeyId: site.file.rosterKeyId,
    hubKey,
    publicKey: registration.publicKey,
    secretRefs: options.secretRefs,
    installDir: resolve(options.installDir ?? dir),
    createdAt: (options.now ?? new Date()).toISOString(),
  };
  const secrets = {
    brokerPassword,
    cacheKey: newKey32(),
    siteKey: site.rosterKey,
    deviceKeyPem: privateKeyToPem(pair.privateKey),
  };

  ensureDir(join(dir, '..'));
  const partial = `${dir}.partial-${randomBytes(4).toString('hex')}`;
  try {
    makePrivateDir(partial);
    writePrivateFile(join(partial, bundleSecretFiles.deviceKey), secrets.deviceKeyPem);
    writePrivateFile(join(partial, bundleSecretFiles.brokerPassword), secrets.brokerPassword);
    writePrivateFile(join(partial, bundleSecretFiles.cacheKey), secrets.cacheKey);
    writePrivateFile(join(partial, bundleSecretFiles.siteKey), secrets.siteKey);
    writePrivateFile(join(partial, DEVICE_PUBLIC_KEY_FILE), `${registration.publicKey}\n`);
    writePrivateFile(join(partial, AGENT_CONFIG_FILE), `${JSON.stringify(agentConfigFor(facts), null, 2)}\n`);
    writePrivateFile(join(partial, BUNDLE_README_FILE), bundleReadme(facts));
    await registrar.registerDevice(registration);
    moveIntoPlace(partial, dir);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  logger.info(
    { site: facts.site, device: facts.device, dir, profile: facts.profile, registrar: registrar.target },
    'device bundle written',
  );
  return { dir, registration, facts, secrets };
}

export async function revokeDevice(
  revocation: DeviceRevocation,
  registrar: Registrar,
  logger: Logger,
): Promise<void> {
  await registrar.revokeDevice(revocation);
  logger.info(
    { site: revocation.site, device: revocation.id, registrar: registrar.target },
    'device revoked',
  );
}
