// Provisioning against a real hub (buildHub on SQLite with its embedded broker, listening on ephemeral
// ports): online through the admin API, offline through a registration file the hub imports. Then the
// bundle is used as the agent will use it: broker login, a signed event acknowledged by the hub, a roster
// change sealed by the hub opened with the bundle's site key, and a refused login once revoked.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildHub, hubConfigSchema } from '@truepresence/cloud-hub';
import {
  ackSchema,
  chainStart,
  createLogger,
  nextEnvelope,
  openRosterChange,
  ProtocolErrorCode,
  parseConfig,
  privateKeyFromPem,
  publicKeyFromBase64,
  readSecret,
  type SecretRef,
  topics,
  uuidv7,
} from '@truepresence/protocol';
import type { FastifyInstance } from 'fastify';
import mqtt from 'mqtt';
import type { BundleAgentConfig } from '../bundle.ts';
import { runCli } from '../cli.ts';
import { ProvisionErrorCode } from '../errors.ts';

const root = mkdtempSync(join(tmpdir(), 'tp-provision-hub-'));
let hub: FastifyInstance;
let hubUrl = '';
let brokerUrl = '';
const tokenFile = join(root, 'hub', 'keys', 'admin-api-token');

before(async () => {
  const config = parseConfig(
    hubConfigSchema,
    {
      dataDir: join(root, 'hub'),
      log: { level: 'silent' },
      store: { type: 'sqlite', path: join(root, 'hub', 'hub.sqlite') },
      broker: { type: 'embedded', port: 0, persistence: 'memory' },
    },
    'test',
  );
  hub = await buildHub(config, { logger: createLogger({ level: 'silent', name: 'hub' }) });
  hubUrl = await hub.listen({ host: '127.0.0.1', port: 0 });
  brokerUrl = `mqtt://127.0.0.1:${hub.broker.address()!.port}`;
});
after(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  });
  return { status, stdout, stderr };
}

function bundleOf(dir: string): {
  config: BundleAgentConfig;
  secret(name: string): string;
  read(ref: SecretRef): Buffer;
} {
  return {
    config: JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8')) as BundleAgentConfig,
    secret: (name) => readFileSync(join(dir, name), 'utf8'),
    read: (ref) => readSecret(ref, { credentialsDirectory: dir }),
  };
}

function connect(username: string, password: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(
    brokerUrl,
    { protocolVersion: 4, username, password, clientId: username, reconnectPeriod: 0 },
    false,
  );
}

async function loginRefused(username: string, password: string): Promise<boolean> {
  try {
    const client = await connect(username, password);
    await client.endAsync();
    return false;
  } catch {
    return true;
  }
}

/** Waits for the next message on `topic`, subscribed before `action` runs. */
async function nextMessage(
  client: mqtt.MqttClient,
  topic: string,
  action: () => Promise<unknown>,
): Promise<Buffer> {
  await client.subscribeAsync(topic, { qos: 1 });
  const message = new Promise<Buffer>((resolve) => {
    client.on('message', (received, payload) => {
      if (received === topic) resolve(payload);
    });
  });
  await action();
  return message;
}

const dir = join(root, 'sites');
const online = () => ['--dir', dir, '--hub', hubUrl, '--token-file', tokenFile, '--log-level', 'debug'];

test('online: a provisioned device logs in, its events are acknowledged, it opens the roster, and revocation locks it out', async () => {
  const site = await cli(
    'init-site',
    '--site',
    'hq',
    '--name',
    'Head office',
    '--timezone',
    'Europe/Paris',
    '--broker-url',
    brokerUrl,
    ...online(),
  );
  assert.equal(site.status, 0, site.stderr);
  const device = await cli(
    'add-device',
    '--site',
    'hq',
    '--device',
    'door-1',
    '--profile',
    'cpu-x86_64',
    ...online(),
  );
  assert.equal(device.status, 0, device.stderr);
  const token = readFileSync(tokenFile, 'utf8').trim();
  for (const output of [site.stdout, site.stderr, device.stdout, device.stderr])
    assert.ok(!output.includes(token));

  const bundle = bundleOf(join(dir, 'hq', 'devices', 'door-1'));
  const { config } = bundle;
  assert.equal(config.link.username, 'hq.door-1');
  const client = await connect(config.link.username, bundle.secret('broker.password'));
  try {
    // An event signed with the bundle's key is stored and acknowledged by the hub.
    const { envelope } = nextEnvelope(
      chainStart,
      {
        id: uuidv7(),
        site: 'hq',
        device: 'door-1',
        camera: 'entrance',
        kind: 'unknown',
        personId: null,
        direction: null,
        capturedAt: new Date().toISOString(),
        similarity: 0.2,
        margin: 0.01,
        liveness: 0.9,
        quality: 0.7,
        rosterSeq: 0,
        modelPack: 'default@1.0.0',
      },
      privateKeyFromPem(bundle.secret('device.key')),
    );
    const ack = ackSchema.parse(
      JSON.parse(
        (
          await nextMessage(client, topics.acks('hq', 'door-1'), () =>
            client.publishAsync(topics.events('hq', 'door-1'), JSON.stringify(envelope), { qos: 1 }),
          )
        ).toString('utf8'),
      ),
    );
    assert.deepEqual(ack.ids, [envelope.id]);

    // The hub seals roster changes with the site key provisioning gave it: erasing a person of the site
    // publishes a change that the bundle's site key and hub key open.
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const created = (await (
      await fetch(`${hubUrl}/api/v1/people`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ displayName: 'Ada', siteIds: ['hq'] }),
      })
    ).json()) as { person: { id: string } };
    const sealed = await nextMessage(client, topics.roster('hq'), () =>
      fetch(`${hubUrl}/api/v1/people/${created.person.id}`, {
        method: 'DELETE',
        headers: { authorization: headers.authorization },
      }),
    );
    const siteKeys = new Map(
      config.keys.siteKeys.map((k) => [k.id, Buffer.from(bundle.read(k.key).toString(), 'base64url')]),
    );
    const hubKeys = new Map(config.keys.hubKeys.map((k) => [k.id, publicKeyFromBase64(k.publicKey)]));
    const change = openRosterChange(sealed, {
      site: 'hq',
      siteKeys: (id) => siteKeys.get(id),
      hubPublicKeys: (id) => hubKeys.get(id),
    });
    assert.deepEqual([change.kind, change.personId], ['erase', created.person.id]);
  } finally {
    await client.endAsync();
  }

  const revoke = await cli(
    'revoke-device',
    '--site',
    'hq',
    '--device',
    'door-1',
    '--reason',
    'stolen',
    ...online(),
  );
  assert.equal(revoke.status, 0, revoke.stderr);
  assert.ok(await loginRefused(config.link.username, bundle.secret('broker.password')));
});

test('offline: the registration file imports into the hub and the device can log in', async () => {
  const offline = ['--dir', join(root, 'offline'), '--export', join(root, 'registrations.json')];
  const site = await cli(
    'init-site',
    '--site',
    'depot',
    '--name',
    'Depot',
    '--timezone',
    'America/Chicago',
    '--broker-url',
    brokerUrl,
    '--hub-key',
    join(root, 'hub', 'keys', 'hub-signing.pem'),
    ...offline,
  );
  assert.equal(site.status, 0, site.stderr);
  assert.equal((await cli('add-device', '--site', 'depot', '--device', 'gate', ...offline)).status, 0);
  const bundle = bundleOf(join(root, 'offline', 'depot', 'devices', 'gate'));
  assert.ok(await loginRefused('depot.gate', bundle.secret('broker.password')), 'unknown before the import');

  const importFile = () =>
    fetch(`${hubUrl}/api/v1/registrations`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}`,
        'content-type': 'application/json',
      },
      body: readFileSync(join(root, 'registrations.json')),
    });
  const response = await importFile();
  assert.equal(response.status, 200, await response.clone().text());
  const client = await connect('depot.gate', bundle.secret('broker.password'));
  await client.endAsync();
  assert.ok(await loginRefused('depot.gate', 'a-wrong-password'));

  // A revocation appended offline takes effect when the file is imported again (what exists is skipped).
  assert.equal((await cli('revoke-device', '--site', 'depot', '--device', 'gate', ...offline)).status, 0);
  const again = await importFile();
  assert.equal(again.status, 200);
  assert.deepEqual(
    ((await again.json()) as { entries: Array<{ kind: string; result: string }> }).entries.map(
      (e) => e.result,
    ),
    ['TP_HUB_STORE_SITE_EXISTS', 'TP_HUB_STORE_DEVICE_EXISTS', 'revoked'],
  );
  assert.ok(await loginRefused('depot.gate', bundle.secret('broker.password')));
});

test('an unauthorised, unreachable or refusing hub is reported with its code and leaves nothing behind', async () => {
  const wrongToken = join(root, 'wrong-token');
  writeFileSync(wrongToken, 'not-the-token-of-this-hub', { mode: 0o600 });
  const loose = join(root, 'loose-token');
  writeFileSync(loose, readFileSync(tokenFile), { mode: 0o644 });
  const other = join(root, 'other-sites');
  const init = (site: string, hubAt: string, token: string) =>
    cli(
      'init-site',
      '--site',
      site,
      '--name',
      'X',
      '--timezone',
      'UTC',
      '--broker-url',
      brokerUrl,
      '--dir',
      other,
      '--hub',
      hubAt,
      '--token-file',
      token,
    );

  const auth = await init('x', hubUrl, wrongToken);
  assert.equal(auth.status, 1);
  assert.match(auth.stderr, new RegExp(`^${ProvisionErrorCode.hubAuth}: .*HTTP 401`));
  assert.match(
    (await init('x', hubUrl, loose)).stderr,
    new RegExp(`^${ProtocolErrorCode.secretInsecure}: .*chmod 600`),
  );
  assert.match(
    (await init('x', 'http://127.0.0.1:1', tokenFile)).stderr,
    new RegExp(`^${ProvisionErrorCode.hubUnreachable}: `),
  );
  const exists = await init('hq', hubUrl, tokenFile);
  assert.match(
    exists.stderr,
    new RegExp(`^${ProvisionErrorCode.hubRefused}: .*HTTP 409 TP_HUB_STORE_SITE_EXISTS`),
  );
  assert.deepEqual(readdirSync(other), [], 'no site folder, no partial folder');

  // door-1 exists on the hub (revoked): a second bundle under that id is refused by the hub, and none is left.
  rmSync(join(dir, 'hq', 'devices', 'door-1'), { recursive: true });
  const again = await cli('add-device', '--site', 'hq', '--device', 'door-1', ...online());
  assert.equal(again.status, 1);
  assert.match(
    again.stderr,
    new RegExp(`^${ProvisionErrorCode.hubRefused}: .*TP_HUB_STORE_DEVICE_EXISTS`, 'm'),
  );
  assert.deepEqual(readdirSync(join(dir, 'hq', 'devices')), []);
});
