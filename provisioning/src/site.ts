// A site on the provisioning machine: SITES_DIR/SITE/site.json (public facts) and site.key (the roster key,
// mode 0600), from which add-device makes device bundles. The same key goes to the hub (encrypted there with
// its data key) and into every device bundle of the site; this folder is the only other copy, so keep it on
// the provisioning machine and back it up like any key.
import { createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describeIssues, idSchema, type Logger, publicKeyToBase64 } from '@truepresence/protocol';
import { z } from 'zod';
import { ProvisionErrorCode, provisionError } from './errors.ts';
import type { Registrar } from './registrars/registrar.ts';
import { type HubKey, hubKeyResponseSchema, keyIdSchema, type SiteRegistration } from './registration.ts';
import { ensureDir, makePrivateDir, moveIntoPlace, newKey32, writePrivateFile } from './secrets.ts';

export const SITE_FILE = 'site.json';
export const SITE_KEY_FILE = 'site.key';

export const brokerUrlSchema = z
  .string()
  .regex(
    /^(mqtts?|wss?):\/\/[^\s/:@]+(:\d{1,5})?\/?$/,
    'write mqtt://HOST:PORT or mqtts://HOST:PORT, without credentials',
  )
  .describe('Broker URL agents connect to (the hub embedded broker, 1884 by default, or an external one).');

export const siteFileSchema = z
  .strictObject({
    format: z.literal('truepresence-site'),
    version: z.literal(1),
    id: idSchema,
    name: z.string().min(1).max(200),
    timeZone: z.string().min(1),
    rosterKeyId: keyIdSchema.describe('Id of the key in site.key.'),
    hubKey: hubKeyResponseSchema.describe('The hub signing key that agents verify roster changes with.'),
    brokerUrl: brokerUrlSchema,
    createdAt: z.iso.datetime({ offset: false }),
  })
  .describe('site.json: what add-device needs besides the roster key.');
export type SiteFile = z.infer<typeof siteFileSchema>;

export interface Site {
  dir: string;
  file: SiteFile;
  /** The 32-byte roster key, base64url. */
  rosterKey: string;
}

export function checkTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return timeZone;
  } catch {
    throw provisionError(
      ProvisionErrorCode.timeZoneInvalid,
      `"${timeZone}" is not an IANA time zone; write one such as Europe/Paris or America/New_York`,
      { timeZone },
    );
  }
}

/**
 * The hub signing key for offline provisioning: a PEM file (the hub's dataDir/keys/hub-signing.pem or its
 * public half; only the public key is kept) or the raw public key in base64url.
 */
export function hubKeyFrom(value: string, keyId: string): HubKey {
  let publicKey: string;
  try {
    publicKey = existsSync(value) ? publicKeyToBase64(createPublicKey(readFileSync(value))) : value;
  } catch (cause) {
    throw provisionError(
      ProvisionErrorCode.hubKeyInvalid,
      `${value} is not an Ed25519 key in PEM`,
      { path: value },
      cause,
    );
  }
  const parsed = hubKeyResponseSchema.safeParse({ keyId, publicKey });
  if (!parsed.success) {
    throw provisionError(
      ProvisionErrorCode.hubKeyInvalid,
      `--hub-key must be a PEM file or an Ed25519 public key in base64url, and --hub-key-id 1-64 [A-Za-z0-9_.-]: ${describeIssues(parsed.error).join('; ')}`,
    );
  }
  return parsed.data;
}

export function readSite(sitesDir: string, siteId: string): Site {
  const dir = join(sitesDir, siteId);
  const path = join(dir, SITE_FILE);
  if (!existsSync(path)) {
    throw provisionError(
      ProvisionErrorCode.siteUnknown,
      `no site "${siteId}" in ${sitesDir}; create it with init-site or point --dir at the folder that holds it`,
      { site: siteId, dir: sitesDir },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw provisionError(ProvisionErrorCode.siteFileInvalid, `${path} is not valid JSON`, { path }, cause);
  }
  const parsed = siteFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    throw provisionError(
      ProvisionErrorCode.siteFileInvalid,
      `${path} is damaged:\n  ${problems.join('\n  ')}`,
      {
        path,
        problems,
      },
    );
  }
  const keyPath = join(dir, SITE_KEY_FILE);
  let rosterKey: string;
  try {
    rosterKey = readFileSync(keyPath, 'utf8').trim();
  } catch (cause) {
    throw provisionError(
      ProvisionErrorCode.siteFileInvalid,
      `cannot read the site roster key ${keyPath}`,
      { path: keyPath },
      cause,
    );
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(rosterKey)) {
    throw provisionError(
      ProvisionErrorCode.siteFileInvalid,
      `${keyPath} does not hold a 32-byte key in base64url`,
      { path: keyPath },
    );
  }
  if (parsed.data.id !== siteId) {
    throw provisionError(
      ProvisionErrorCode.siteFileInvalid,
      `${path} describes site "${parsed.data.id}", not "${siteId}"`,
      {
        path,
      },
    );
  }
  return { dir, file: parsed.data, rosterKey };
}

export interface InitSiteOptions {
  sitesDir: string;
  id: string;
  name: string;
  timeZone: string;
  brokerUrl: string;
  /** The hub signing key when the registrar cannot ask the hub (offline). */
  hubKey: HubKey | undefined;
  now?: Date;
}

/**
 * Makes the site folder with a new roster key, registers the site, and only then moves the folder into
 * place: a refused registration leaves nothing behind.
 */
export async function initSite(
  options: InitSiteOptions,
  registrar: Registrar,
  logger: Logger,
): Promise<Site> {
  const dir = join(options.sitesDir, options.id);
  if (existsSync(dir)) {
    throw provisionError(
      ProvisionErrorCode.siteExists,
      `${dir} exists: site "${options.id}" was made before; add devices to it with add-device`,
      { site: options.id, dir },
    );
  }
  checkTimeZone(options.timeZone);
  const online = await registrar.hubKey();
  const hubKey = online ?? options.hubKey;
  if (!hubKey) {
    throw provisionError(
      ProvisionErrorCode.usage,
      'offline, the hub signing key must be given: --hub-key PEM_FILE_OR_BASE64URL [--hub-key-id ID]',
    );
  }
  const rosterKey = newKey32();
  const file: SiteFile = {
    format: 'truepresence-site',
    version: 1,
    id: options.id,
    name: options.name,
    timeZone: options.timeZone,
    rosterKeyId: `${options.id}.${randomBytes(4).toString('hex')}`,
    hubKey,
    brokerUrl: options.brokerUrl,
    createdAt: (options.now ?? new Date()).toISOString(),
  };
  ensureDir(options.sitesDir);
  const partial = join(options.sitesDir, `.${options.id}.partial-${randomBytes(4).toString('hex')}`);
  try {
    makePrivateDir(partial);
    writePrivateFile(join(partial, SITE_FILE), `${JSON.stringify(file, null, 2)}\n`);
    writePrivateFile(join(partial, SITE_KEY_FILE), rosterKey);
    const registration: SiteRegistration = {
      id: file.id,
      name: file.name,
      timeZone: file.timeZone,
      rosterKey: { id: file.rosterKeyId, key: rosterKey },
    };
    await registrar.registerSite(registration);
    moveIntoPlace(partial, dir);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  logger.info(
    { site: file.id, dir, rosterKeyId: file.rosterKeyId, registrar: registrar.target },
    'site created',
  );
  return { dir, file, rosterKey };
}
