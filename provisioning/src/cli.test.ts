import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, scryptSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import {
  chainStart,
  decodeVector,
  EMBEDDING_DIMENSIONS,
  encodeVector,
  nextEnvelope,
  openRosterChange,
  privateKeyFromPem,
  publicKeyFromBase64,
  publicKeyToBase64,
  readSecret,
  type SecretRef,
  sealRosterChange,
  verifyEvent,
} from '@truepresence/protocol';
import type { BundleAgentConfig } from './bundle.ts';
import { runCli } from './cli.ts';
import { ProvisionErrorCode } from './errors.ts';
import { readRegistrationFile } from './registrars/export-file.ts';

const root = mkdtempSync(join(tmpdir(), 'tp-provision-'));
after(() => rmSync(root, { recursive: true, force: true }));

const hub = generateKeyPairSync('ed25519');
const hubPem = join(root, 'hub-signing.pem');
writeFileSync(hubPem, hub.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

async function cli(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  });
  return { status, stdout, stderr };
}

const dir = join(root, 'sites');
const exportFile = join(root, 'registrations.json');
const offline = ['--dir', dir, '--export', exportFile, '--log-level', 'trace'];

function modeOf(path: string): number {
  return statSync(path).mode & 0o777;
}

function agentConfigOf(bundle: string): BundleAgentConfig {
  return JSON.parse(readFileSync(join(bundle, 'agent.json'), 'utf8')) as BundleAgentConfig;
}

const siteRun = cli(
  'init-site',
  '--site',
  'hq',
  '--name',
  'Head office',
  '--timezone',
  'Europe/Paris',
  '--broker-url',
  'mqtt://hub.example.com:1884',
  '--hub-key',
  hubPem,
  ...offline,
);
const deviceRun = siteRun.then(() => cli('add-device', '--site', 'hq', '--device', 'door-1', ...offline));
const bundle = join(dir, 'hq', 'devices', 'door-1');

test('init-site and add-device write private folders of 0600 files and print no secret', async () => {
  const site = await siteRun;
  const device = await deviceRun;
  assert.equal(site.status, 0, site.stderr);
  assert.equal(device.status, 0, device.stderr);
  assert.match(device.stdout, /device hq\/door-1 provisioned: bundle in .*door-1/);

  assert.equal(modeOf(join(dir, 'hq')), 0o700);
  assert.deepEqual(readdirSync(join(dir, 'hq')).sort(), ['devices', 'site.json', 'site.key']);
  assert.equal(modeOf(join(dir, 'hq', 'site.key')), 0o600);
  assert.equal(modeOf(bundle), 0o700);
  const files = readdirSync(bundle).sort();
  assert.deepEqual(files, [
    'README.md',
    'agent.json',
    'broker.password',
    'cache.key',
    'device.key',
    'device.pub',
    'site.key',
  ]);
  for (const file of files) assert.equal(modeOf(join(bundle, file)), 0o600, file);
  assert.equal(modeOf(exportFile), 0o600);

  // Logs at trace level went to stderr: neither they nor stdout carry a secret.
  assert.match(site.stderr + device.stderr, /"msg":"device bundle written"/);
  const secrets = ['broker.password', 'cache.key', 'site.key'].map((f) =>
    readFileSync(join(bundle, f), 'utf8'),
  );
  const pemBody = readFileSync(join(bundle, 'device.key'), 'utf8').split('\n')[1]!;
  for (const secret of [...secrets, pemBody]) {
    assert.ok(secret.length >= 40);
    for (const output of [site.stdout, site.stderr, device.stdout, device.stderr]) {
      assert.ok(!output.includes(secret), 'a secret reached the output');
    }
  }
  const config = readFileSync(join(bundle, 'agent.json'), 'utf8');
  for (const secret of [...secrets, pemBody])
    assert.ok(!config.includes(secret), 'a secret inline in agent.json');
  assert.match(
    readFileSync(join(bundle, 'README.md'), 'utf8'),
    /LoadCredential=NAME:\/etc\/truepresence\/agent\/NAME/,
  );
});

test('the offline registration file validates and holds only the public key and a password hash', async () => {
  await deviceRun;
  const file = readRegistrationFile(exportFile);
  assert.deepEqual(
    file.entries.map((e) => e.kind),
    ['site', 'device'],
  );
  const [siteEntry, deviceEntry] = file.entries;
  assert.ok(siteEntry?.kind === 'site' && deviceEntry?.kind === 'device');
  assert.equal(siteEntry.site.rosterKey.key, readFileSync(join(bundle, 'site.key'), 'utf8'));
  const registration = deviceEntry.device;
  assert.equal(registration.brokerUsername, 'hq.door-1');
  assert.equal(registration.publicKey, readFileSync(join(bundle, 'device.pub'), 'utf8').trim());
  const text = readFileSync(exportFile, 'utf8');
  assert.ok(!text.includes(readFileSync(join(bundle, 'broker.password'), 'utf8')));
  assert.ok(!text.includes(readFileSync(join(bundle, 'cache.key'), 'utf8')));
  assert.ok(!text.includes('PRIVATE KEY'));

  // The hash is scrypt in PHC form of the bundle's password, as the hub checks a broker login.
  const [, , params, salt, hash] = registration.brokerPasswordHash.split('$');
  assert.equal(params, 'ln=15,r=8,p=1');
  const password = readFileSync(join(bundle, 'broker.password'), 'utf8');
  const derived = scryptSync(password, Buffer.from(salt!, 'base64'), 32, {
    N: 2 ** 15,
    r: 8,
    p: 1,
    maxmem: 64 << 20,
  });
  assert.equal(derived.toString('base64').replace(/=+$/, ''), hash);

  // A damaged file is refused with the key path of the problem.
  const damaged = join(root, 'damaged.json');
  const broken = JSON.parse(text) as { entries: Array<{ device?: { brokerPasswordHash: string } }> };
  broken.entries[1]!.device!.brokerPasswordHash = 'md5:abc';
  writeFileSync(damaged, JSON.stringify(broken));
  assert.throws(
    () => readRegistrationFile(damaged),
    (e: Error & { code?: string }) =>
      e.code === ProvisionErrorCode.exportInvalid &&
      /entries\[1\]\.device\.brokerPasswordHash/.test(e.message),
  );
});

test('the bundle keys work: events it signs verify with the registered key; the site key opens roster changes', async () => {
  await deviceRun;
  const config = agentConfigOf(bundle);
  const registration = readRegistrationFile(exportFile).entries.find((e) => e.kind === 'device');
  assert.ok(registration?.kind === 'device');
  // Credential references resolve against the bundle folder, as systemd's $CREDENTIALS_DIRECTORY would.
  const read = (ref: SecretRef) => readSecret(ref, { credentialsDirectory: bundle });

  const deviceKey = privateKeyFromPem(read(config.keys.device));
  assert.equal(publicKeyToBase64(deviceKey), registration.device.publicKey);
  const { envelope } = nextEnvelope(
    chainStart,
    {
      id: '01936f3c-8a2b-7c4d-9e5f-0123456789ab',
      site: config.site,
      device: config.device,
      camera: 'entrance',
      kind: 'unknown',
      personId: null,
      direction: 'in',
      capturedAt: '2026-11-22T08:15:30.250Z',
      similarity: 0.31,
      margin: 0.02,
      liveness: 0.95,
      quality: 0.8,
      rosterSeq: 0,
      modelPack: 'default@1.0.0',
    },
    deviceKey,
  );
  const registered = publicKeyFromBase64(registration.device.publicKey);
  const verified = verifyEvent(JSON.stringify(envelope), {
    topic: { site: 'hq', device: 'door-1' },
    lookupKey: (site, device) =>
      site === 'hq' && device === 'door-1' ? { publicKey: registered, revoked: false } : undefined,
  });
  assert.equal(verified.envelope.id, envelope.id);

  // The hub seals a change with the site key it was given and its own signing key; the agent opens it with
  // the bundle's site key and the hub public key from agent.json.
  const siteEntry = readRegistrationFile(exportFile).entries[0];
  assert.ok(siteEntry?.kind === 'site');
  const vector = new Float32Array(EMBEDDING_DIMENSIONS).fill(1 / Math.sqrt(EMBEDDING_DIMENSIONS));
  const sealed = sealRosterChange(
    {
      v: 1,
      site: 'hq',
      seq: 1,
      kind: 'enrol',
      personId: 'p-1',
      templates: [{ id: 't-1', modelPack: 'default@1.0.0', vector: encodeVector(vector) }],
      issuedAt: '2026-11-22T08:00:00.000Z',
    },
    { id: siteEntry.site.rosterKey.id, key: Buffer.from(siteEntry.site.rosterKey.key, 'base64url') },
    { id: 'hub-1', privateKey: hub.privateKey },
  );
  const siteKeys = new Map(
    config.keys.siteKeys.map((k) => [k.id, Buffer.from(read(k.key).toString('utf8'), 'base64url')]),
  );
  const hubKeys = new Map(config.keys.hubKeys.map((k) => [k.id, publicKeyFromBase64(k.publicKey)]));
  const opened = openRosterChange(JSON.stringify(sealed), {
    site: config.site,
    siteKeys: (keyId) => siteKeys.get(keyId),
    hubPublicKeys: (keyId) => hubKeys.get(keyId),
  });
  assert.equal(opened.personId, 'p-1');
  assert.deepEqual(decodeVector(opened.templates[0]!.vector), vector);

  assert.equal(read(config.keys.cache).toString('utf8').length, 43);
  assert.equal(Buffer.from(read(config.keys.cache).toString('utf8'), 'base64url').byteLength, 32);
  assert.equal(
    read(config.link.password).toString('utf8'),
    readFileSync(join(bundle, 'broker.password'), 'utf8'),
  );
  assert.equal(config.link.url, 'mqtt://hub.example.com:1884');
  assert.equal(config.link.username, 'hq.door-1');
});

test('--secret-refs file writes absolute paths; --show-secrets prints secrets on stdout but never in logs', async () => {
  await deviceRun;
  const run = await cli(
    'add-device',
    '--site',
    'hq',
    '--device',
    'door-2',
    '--profile',
    'coral',
    '--secret-refs',
    'file',
    '--broker-url',
    'mqtts://broker.example.com:8883',
    '--show-secrets',
    '--json',
    ...offline,
  );
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout) as {
    dir: string;
    secrets: { brokerPassword: string; cacheKey: string };
  };
  const config = agentConfigOf(out.dir);
  assert.deepEqual(config.keys.device, { file: join(out.dir, 'device.key') });
  assert.equal(config.profile, 'coral');
  assert.equal(config.link.url, 'mqtts://broker.example.com:8883');
  assert.equal(readSecret(config.link.password, {}).toString('utf8'), out.secrets.brokerPassword);
  assert.equal(readSecret(config.keys.cache, {}).toString('utf8'), out.secrets.cacheKey);
  assert.ok(!run.stderr.includes(out.secrets.brokerPassword));
  assert.ok(!run.stderr.includes(out.secrets.cacheKey));
});

test('revoke-device appends a revocation to the registration file', async () => {
  await deviceRun;
  const run = await cli(
    'revoke-device',
    '--site',
    'hq',
    '--device',
    'door-1',
    '--reason',
    'stolen',
    ...offline,
  );
  assert.equal(run.status, 0, run.stderr);
  const last = readRegistrationFile(exportFile).entries.at(-1);
  assert.deepEqual(last?.kind === 'revocation' && last.revocation, {
    site: 'hq',
    id: 'door-1',
    reason: 'stolen',
  });
});

test('mistakes are refused with their code and leave nothing behind', async () => {
  await deviceRun;
  const cases: Array<[string[], number, string]> = [
    [['add-device', '--site', 'hq', '--device', 'door-1', ...offline], 1, ProvisionErrorCode.bundleExists],
    [['add-device', '--site', 'nowhere', '--device', 'x', ...offline], 1, ProvisionErrorCode.siteUnknown],
    [['add-device', '--site', 'hq', '--device', 'Door 3', ...offline], 2, ProvisionErrorCode.usage],
    [
      ['add-device', '--site', 'hq', '--device', 'door-3', '--profile', 'hailo', ...offline],
      2,
      ProvisionErrorCode.usage,
    ],
    [['add-device', '--site', 'hq', '--device', 'door-3', '--dir', dir], 2, ProvisionErrorCode.usage],
    [
      ['add-device', '--site', 'hq', '--device', 'door-3', '--name', 'x', ...offline],
      2,
      ProvisionErrorCode.usage,
    ],
    [
      ['add-device', '--site', 'hq', '--device', 'door-3', '--hub', 'http://127.0.0.1:9', ...offline],
      2,
      ProvisionErrorCode.usage,
    ],
    [
      [
        'init-site',
        '--site',
        'b',
        '--name',
        'B',
        '--timezone',
        'Mars/Olympus',
        '--broker-url',
        'mqtt://h:1',
        '--hub-key',
        hubPem,
        ...offline,
      ],
      1,
      ProvisionErrorCode.timeZoneInvalid,
    ],
    [
      [
        'init-site',
        '--site',
        'b',
        '--name',
        'B',
        '--timezone',
        'UTC',
        '--broker-url',
        'mqtt://u:p@h:1',
        '--hub-key',
        hubPem,
        ...offline,
      ],
      2,
      ProvisionErrorCode.usage,
    ],
    [
      [
        'init-site',
        '--site',
        'b',
        '--name',
        'B',
        '--timezone',
        'UTC',
        '--broker-url',
        'mqtt://h:1',
        ...offline,
      ],
      2,
      ProvisionErrorCode.usage,
    ],
    [
      [
        'init-site',
        '--site',
        'b',
        '--name',
        'B',
        '--timezone',
        'UTC',
        '--broker-url',
        'mqtt://h:1',
        '--hub-key',
        'not-a-key',
        ...offline,
      ],
      1,
      ProvisionErrorCode.hubKeyInvalid,
    ],
    [
      [
        'init-site',
        '--site',
        'hq',
        '--name',
        'B',
        '--timezone',
        'UTC',
        '--broker-url',
        'mqtt://h:1',
        '--hub-key',
        hubPem,
        ...offline,
      ],
      1,
      ProvisionErrorCode.siteExists,
    ],
    [['launch-rockets'], 2, ProvisionErrorCode.usage],
  ];
  const before = readFileSync(exportFile, 'utf8');
  for (const [argv, status, code] of cases) {
    const run = await cli(...argv);
    assert.equal(run.status, status, `${argv.join(' ')}: ${run.stderr}`);
    assert.ok(run.stderr.includes(`${code}:`), `${argv.join(' ')} said ${run.stderr}`);
  }
  assert.equal(readFileSync(exportFile, 'utf8'), before, 'no registration was exported');
  assert.ok(!existsSync(join(dir, 'b')));
  assert.deepEqual(readdirSync(join(dir, 'hq', 'devices')).sort(), ['door-1', 'door-2']);
});

test('the bin shim runs the CLI under plain node', async () => {
  const bin = join(import.meta.dirname, '..', 'bin', 'truepresence-provision.js');
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'add-device', '--help']);
  assert.match(stdout, /Usage: truepresence-provision add-device/);
  assert.match(stdout, /cpu-x86_64/);
});
