// truepresence-provision: the command line. runCli() is the whole program; bin/truepresence-provision.js
// hands it the process's arguments, streams and environment.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createLogger,
  idSchema,
  isTpError,
  type Logger,
  type LoggerSettings,
  listDeviceProfiles,
  readSecret,
} from '@truepresence/protocol';
import type { SecretRefStyle } from './bundle.ts';
import { addDevice, revokeDevice } from './device.ts';
import { ProvisionErrorCode, provisionError } from './errors.ts';
import { ExportFileRegistrar } from './registrars/export-file.ts';
import { HubApiRegistrar } from './registrars/hub-api.ts';
import type { Registrar } from './registrars/registrar.ts';
import { deviceRevocationSchema } from './registration.ts';
import { brokerUrlSchema, hubKeyFrom, initSite, readSite } from './site.ts';

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  /** The environment, read here only: $CREDENTIALS_DIRECTORY for --token-file under systemd. */
  env: Readonly<Record<string, string | undefined>>;
}

const hubTimeoutMs = 15_000;
const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const commonHelp = `Where the hub learns about it (exactly one):
  --hub URL --token-file PATH   a running hub's admin API (PATH holds the admin API token, mode 0600)
  --export FILE                 append to a registration file the hub imports later (mode 0600)
Common options:
  --dir DIR            folder of sites (default ./truepresence-sites)
  --json               print the result as JSON
  --show-secrets       also print the secrets made (never logged either way)
  --log-level LEVEL    ${logLevels.join('|')} (default warn); logs go to stderr
  -h, --help           this help`;

const help: Record<string, string> = {
  '': `truepresence-provision: sites, devices, keys and credentials of TruePresence

Usage: truepresence-provision COMMAND [options]

Commands:
  init-site      create a site and its roster key, register it with the hub
  add-device     make a device bundle (device key, broker login, cache key, site key, agent.json)
  revoke-device  revoke a device: the hub refuses its events and its broker login

Run truepresence-provision COMMAND --help for its options. See provisioning/README.md.`,
  'init-site': `Usage: truepresence-provision init-site --site ID --name NAME --timezone TZ --broker-url URL
         (--hub URL --token-file PATH | --export FILE --hub-key PEM|BASE64URL [--hub-key-id ID])

Creates DIR/ID/site.json and DIR/ID/site.key (the site roster key, 32 random bytes, mode 0600) and registers
the site with its roster key. Offline, --hub-key gives the hub signing key (its PEM file or the public key in
base64url) and --hub-key-id its id (default hub-1); online it is asked from the hub.

  --site ID            site id: 1-63 of [a-z0-9_-]
  --name NAME          display name
  --timezone TZ        IANA time zone of the site, e.g. Europe/Paris
  --broker-url URL     MQTT broker the site's agents connect to, e.g. mqtt://hub.example.com:1884

${commonHelp}`,
  'add-device': `Usage: truepresence-provision add-device --site ID --device ID [--profile auto|NAME] [--broker-url URL]
         [--out DIR] [--secret-refs credential|file [--install-dir DIR]]
         (--hub URL --token-file PATH | --export FILE)

Writes a bundle folder (default DIR/SITE/devices/DEVICE, mode 0700, files 0600) with the device's Ed25519
key, its broker password, its cache key, the site roster key, agent.json and a README for the installer,
then registers the device's public key and broker password hash.

  --site ID            site made by init-site (in --dir)
  --device ID          device id: 1-63 of [a-z0-9_-]
  --profile P          device profile in agent.json: auto (default) or ${listDeviceProfiles().join(', ')}
  --broker-url URL     broker URL for this device instead of the site's
  --out DIR            bundle folder
  --secret-refs S      how agent.json names the secret files: credential (default; systemd LoadCredential=
                       names, or CREDENTIALS_DIRECTORY=BUNDLE to run in place) or file (absolute paths)
  --install-dir DIR    with --secret-refs file: where the files will be (default: the bundle folder)

${commonHelp}`,
  'revoke-device': `Usage: truepresence-provision revoke-device --site ID --device ID [--reason TEXT]
         (--hub URL --token-file PATH | --export FILE)

Revokes a device: the hub refuses its events and its broker login.

${commonHelp}`,
};

const optionSpec = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'show-secrets': { type: 'boolean' },
  'log-level': { type: 'string' },
  dir: { type: 'string' },
  hub: { type: 'string' },
  'token-file': { type: 'string' },
  export: { type: 'string' },
  site: { type: 'string' },
  name: { type: 'string' },
  timezone: { type: 'string' },
  'broker-url': { type: 'string' },
  'hub-key': { type: 'string' },
  'hub-key-id': { type: 'string' },
  device: { type: 'string' },
  profile: { type: 'string' },
  out: { type: 'string' },
  'secret-refs': { type: 'string' },
  'install-dir': { type: 'string' },
  reason: { type: 'string' },
} as const;

type Options = ReturnType<typeof parseArgs<{ options: typeof optionSpec; allowPositionals: true }>>['values'];

const allowed: Record<string, ReadonlyArray<keyof Options>> = {
  'init-site': ['site', 'name', 'timezone', 'broker-url', 'hub-key', 'hub-key-id'],
  'add-device': ['site', 'device', 'profile', 'broker-url', 'out', 'secret-refs', 'install-dir'],
  'revoke-device': ['site', 'device', 'reason'],
};
const common: ReadonlyArray<keyof Options> = [
  'help',
  'json',
  'show-secrets',
  'log-level',
  'dir',
  'hub',
  'token-file',
  'export',
];

function usage(message: string, command: string): never {
  throw provisionError(
    ProvisionErrorCode.usage,
    `${message}\nRun truepresence-provision ${command} --help.`,
    {
      command,
    },
  );
}

function required(options: Options, key: keyof Options, command: string): string {
  const value = options[key];
  if (typeof value !== 'string' || value === '') usage(`--${key} is required`, command);
  return value;
}

function id(options: Options, key: 'site' | 'device', command: string): string {
  const value = required(options, key, command);
  if (!idSchema.safeParse(value).success) {
    usage(`--${key} "${value}": use 1-63 of [a-z0-9_-], starting with a letter or digit`, command);
  }
  return value;
}

function brokerUrl(value: string, command: string): string {
  if (!brokerUrlSchema.safeParse(value).success) {
    usage(
      `--broker-url "${value}": write mqtt://HOST:PORT or mqtts://HOST:PORT, without credentials`,
      command,
    );
  }
  return value;
}

function registrarFor(options: Options, command: string, io: CliIo, logger: Logger): Registrar {
  if (options.hub !== undefined && options.export !== undefined)
    usage('give --hub or --export, not both', command);
  if (options.hub !== undefined) {
    if (!/^https?:\/\/[^\s]+$/.test(options.hub))
      usage(`--hub "${options.hub}": write http(s)://HOST[:PORT]`, command);
    const tokenFile = required(options, 'token-file', command);
    const token = readSecret({ file: tokenFile }, { credentialsDirectory: io.env.CREDENTIALS_DIRECTORY })
      .toString('utf8')
      .trim();
    return new HubApiRegistrar({ url: options.hub, token, timeoutMs: hubTimeoutMs }, logger);
  }
  if (options.export !== undefined) return new ExportFileRegistrar(resolve(options.export), logger);
  return usage('say where the hub learns about it: --hub URL --token-file PATH, or --export FILE', command);
}

interface Outcome {
  lines: string[];
  json: Record<string, unknown>;
}

async function run(command: string, options: Options, io: CliIo, logger: Logger): Promise<Outcome> {
  const sitesDir = resolve(options.dir ?? 'truepresence-sites');
  const showSecrets = options['show-secrets'] === true;
  if (command === 'init-site') {
    const siteId = id(options, 'site', command);
    const url = brokerUrl(required(options, 'broker-url', command), command);
    if (options.hub !== undefined && options['hub-key'] !== undefined) {
      usage('--hub-key is for offline use; online the hub is asked for its key', command);
    }
    const registrar = registrarFor(options, command, io, logger);
    const hubKey =
      options['hub-key'] === undefined
        ? undefined
        : hubKeyFrom(options['hub-key'], options['hub-key-id'] ?? 'hub-1');
    const site = await initSite(
      {
        sitesDir,
        id: siteId,
        name: required(options, 'name', command),
        timeZone: required(options, 'timezone', command),
        brokerUrl: url,
        hubKey,
      },
      registrar,
      logger,
    );
    const lines = [
      `site ${site.file.id} ("${site.file.name}", ${site.file.timeZone}) created in ${site.dir}`,
      `  roster key ${site.file.rosterKeyId}: ${site.dir}/site.key (mode 0600; keep it, add-device needs it)`,
      `  hub signing key ${site.file.hubKey.keyId}: ${site.file.hubKey.publicKey}`,
      `  registered with ${registrar.target}`,
    ];
    if (showSecrets) lines.push(`  site roster key: ${site.rosterKey}`);
    return {
      lines,
      json: {
        site: site.file,
        dir: site.dir,
        registeredWith: registrar.target,
        ...(showSecrets ? { secrets: { siteKey: site.rosterKey } } : {}),
      },
    };
  }
  if (command === 'add-device') {
    const siteId = id(options, 'site', command);
    const deviceId = id(options, 'device', command);
    const profile = options.profile ?? 'auto';
    const profiles = listDeviceProfiles();
    if (profile !== 'auto' && !profiles.includes(profile)) {
      usage(`--profile "${profile}": use auto or one of ${profiles.join(', ')}`, command);
    }
    const secretRefs = options['secret-refs'] ?? 'credential';
    if (secretRefs !== 'credential' && secretRefs !== 'file')
      usage('--secret-refs is credential or file', command);
    if (options['install-dir'] !== undefined && secretRefs !== 'file') {
      usage('--install-dir goes with --secret-refs file', command);
    }
    const site = readSite(sitesDir, siteId);
    const registrar = registrarFor(options, command, io, logger);
    const bundle = await addDevice(
      {
        site,
        id: deviceId,
        profile,
        brokerUrl:
          options['broker-url'] === undefined ? undefined : brokerUrl(options['broker-url'], command),
        out: options.out,
        secretRefs: secretRefs as SecretRefStyle,
        installDir: options['install-dir'],
      },
      registrar,
      logger,
    );
    const lines = [
      `device ${siteId}/${deviceId} provisioned: bundle in ${bundle.dir}`,
      `  public key ${bundle.registration.publicKey}`,
      `  broker user ${bundle.registration.brokerUsername} at ${bundle.facts.brokerUrl}, profile ${profile}`,
      `  registered with ${registrar.target}`,
      `  next: hand the bundle to the installer (see ${bundle.dir}/README.md), then delete it here`,
    ];
    if (showSecrets) {
      lines.push(
        `  broker password: ${bundle.secrets.brokerPassword}`,
        `  cache key: ${bundle.secrets.cacheKey}`,
        `  site roster key: ${bundle.secrets.siteKey}`,
        `  device private key:\n${bundle.secrets.deviceKeyPem.trimEnd()}`,
      );
    }
    return {
      lines,
      json: {
        device: bundle.registration,
        dir: bundle.dir,
        brokerUrl: bundle.facts.brokerUrl,
        registeredWith: registrar.target,
        ...(showSecrets ? { secrets: bundle.secrets } : {}),
      },
    };
  }
  const revocation = deviceRevocationSchema.parse({
    site: id(options, 'site', command),
    id: id(options, 'device', command),
    reason: options.reason ?? '',
  });
  const registrar = registrarFor(options, command, io, logger);
  await revokeDevice(revocation, registrar, logger);
  return {
    lines: [`device ${revocation.site}/${revocation.id} revoked with ${registrar.target}`],
    json: { revoked: revocation, registeredWith: registrar.target },
  };
}

/** Runs one command; returns the exit status (0 done, 1 failed, 2 bad command line). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command = '', ...rest] = argv;
  if (command === '' || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(`${help['']}\n`);
    return command === '' ? 2 : 0;
  }
  if (!(command in allowed)) {
    io.stderr.write(`${ProvisionErrorCode.usage}: unknown command "${command}"\n${help['']}\n`);
    return 2;
  }
  let options: Options;
  try {
    const parsed = parseArgs({ args: [...rest], options: optionSpec, allowPositionals: true, strict: true });
    if (parsed.positionals.length > 0) throw new Error(`unexpected argument "${parsed.positionals[0]}"`);
    options = parsed.values;
    const permitted = new Set([...common, ...(allowed[command] ?? [])]);
    const stray = Object.keys(options).find((key) => !permitted.has(key as keyof Options));
    if (stray) throw new Error(`--${stray} does not apply to ${command}`);
  } catch (error) {
    io.stderr.write(`${ProvisionErrorCode.usage}: ${(error as Error).message}\n\n${help[command]}\n`);
    return 2;
  }
  if (options.help) {
    io.stdout.write(`${help[command]}\n`);
    return 0;
  }
  const level = (options['log-level'] ?? 'warn') as LoggerSettings['level'];
  if (!logLevels.includes(level)) {
    io.stderr.write(`${ProvisionErrorCode.usage}: --log-level is one of ${logLevels.join(', ')}\n`);
    return 2;
  }
  const logger = createLogger({ name: 'truepresence-provision', level }, io.stderr).child({ command });
  try {
    const outcome = await run(command, options, io, logger);
    io.stdout.write(
      options.json ? `${JSON.stringify(outcome.json, null, 2)}\n` : `${outcome.lines.join('\n')}\n`,
    );
    return 0;
  } catch (error) {
    if (isTpError(error)) {
      logger.debug({ err: error }, 'command failed');
      io.stderr.write(`${error.code}: ${error.message}\n`);
      return error.code === ProvisionErrorCode.usage ? 2 : 1;
    }
    logger.error({ err: error }, 'unexpected failure');
    io.stderr.write(`${ProvisionErrorCode.internal}: ${(error as Error).message}\n`);
    return 1;
  }
}
