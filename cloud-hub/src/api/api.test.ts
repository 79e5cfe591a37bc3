// The REST API through app.inject() on a real hub (SQLite, embedded broker): auth and roles, sites,
// devices and provisioning imports, people and consent, attendance and events, alerts, audit, health.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger, generateEd25519KeyPair, parseConfig, publicKeyToBase64 } from '@truepresence/protocol';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { startHub, tempDir } from '../../../test/hub/harness.ts';
import { hubConfigSchema } from '../config.ts';
import { buildHub } from '../hub.ts';
import { hashPassword } from '../passwords.ts';
import type { NewEvent } from '../store/index.ts';

const dir = tempDir('tp-hub-api-');
let app: FastifyInstance;
let adminPassword = '';
let token = '';

async function call(options: InjectOptions & { auth?: string | null; cookie?: string; csrf?: string }) {
  const headers: Record<string, string> = { ...(options.headers as Record<string, string>) };
  if (options.auth !== null) headers.authorization = `Bearer ${options.auth ?? token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.csrf) headers['x-csrf-token'] = options.csrf;
  const { auth: _a, cookie: _c, csrf: _x, ...rest } = options;
  const response = await app.inject({ ...rest, headers });
  const json = String(response.headers['content-type'] ?? '').startsWith('application/json');
  return { status: response.statusCode, body: json ? response.json() : undefined, response };
}

async function device(id: string, site: string) {
  return {
    id,
    site,
    publicKey: publicKeyToBase64(generateEd25519KeyPair().privateKey),
    brokerUsername: `${site}.${id}`,
    brokerPasswordHash: await hashPassword('x', { ln: 14, r: 8, p: 1 }),
    profile: 'cpu-x86_64',
  };
}

async function login(username: string, password: string) {
  const { status, body, response } = await call({
    method: 'POST',
    url: '/api/v1/auth/login',
    auth: null,
    payload: { username, password },
  });
  assert.equal(status, 200, JSON.stringify(body));
  const setCookie = String(response.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: body.csrfToken as string, setCookie };
}

before(async () => {
  const config = parseConfig(
    hubConfigSchema,
    {
      dataDir: dir.path,
      log: { level: 'silent' },
      store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
      broker: { type: 'embedded', port: 0, persistence: 'memory' },
      auth: { loginAttemptsPerMinute: 3 },
    },
    'test',
  );
  app = await buildHub(config, {
    logger: createLogger({ level: 'silent', name: 'test' }),
    onFirstAdminPassword: (password) => {
      adminPassword = password;
    },
  });
  await app.ready();
  token = app.keys.adminToken;
});

after(async () => {
  await app?.close();
  dir.dispose();
});

describe('hub API', () => {
  test('health, readiness, OpenAPI and the hub key are public; metrics are served to this machine', async () => {
    assert.deepEqual((await call({ url: '/healthz', auth: null })).body, { status: 'ok' });
    const ready = await call({ url: '/readyz', auth: null });
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { store: true, broker: true });
    const metrics = await call({ url: '/metrics', auth: null });
    assert.match(metrics.response.headers['content-type'] as string, /^text\/plain; version=0.0.4/);
    assert.match(metrics.response.body, /^tp_hub_devices_online 0$/m);
    assert.match(metrics.response.body, /^# TYPE tp_hub_ack_latency_seconds histogram$/m);
    const remote = await call({ url: '/metrics', auth: null, remoteAddress: '203.0.113.7' });
    assert.deepEqual([remote.status, remote.body.code], [401, 'TP_HUB_AUTH_REQUIRED']);
    const asAdmin = await call({ url: '/metrics', remoteAddress: '203.0.113.7' });
    assert.equal(asAdmin.status, 401, 'the admin API token is not the metrics token');
    assert.equal((await call({ url: '/metrics', auth: null, remoteAddress: '::1' })).status, 200);
    const openapi = await call({ url: '/api/v1/openapi.json', auth: null });
    assert.equal(openapi.body.openapi, '3.0.3');
    for (const path of [
      '/api/v1/people',
      '/api/v1/people/{personId}/photos',
      '/api/v1/attendance',
      '/api/v1/devices/{deviceId}/revoke',
      '/api/v1/audit',
    ]) {
      assert.ok(openapi.body.paths[path], path);
    }
    const attendance = openapi.body.paths['/api/v1/attendance'].get;
    assert.deepEqual(attendance.parameters.map((p: { name: string }) => p.name).sort(), [
      'cameraId',
      'from',
      'group',
      'personId',
      'siteId',
      'to',
    ]);
    const key = await call({ url: '/api/v1/hub-key', auth: null });
    assert.deepEqual(key.body, { keyId: 'hub-1', publicKey: app.keys.signingPublicKey });
  });

  test('no credentials, a wrong token, a wrong password: refused with their codes', async () => {
    assert.equal((await call({ url: '/api/v1/people', auth: null })).body.code, 'TP_HUB_AUTH_REQUIRED');
    const wrong = await call({ url: '/api/v1/people', auth: randomBytes(32).toString('base64url') });
    assert.deepEqual([wrong.status, wrong.body.code], [401, 'TP_HUB_AUTH_REQUIRED']);
    const bad = await call({
      method: 'POST',
      url: '/api/v1/auth/login',
      auth: null,
      payload: { username: 'admin', password: 'nope' },
    });
    assert.deepEqual([bad.status, bad.body.code], [401, 'TP_HUB_AUTH_LOGIN_FAILED']);
  });

  test('the first admin logs in with the password shown once; sessions need the CSRF token to change things', async () => {
    assert.ok(adminPassword.length >= 16);
    const { cookie, csrf, setCookie } = await login('admin', adminPassword);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const me = await call({ url: '/api/v1/auth/me', auth: null, cookie });
    assert.deepEqual(me.body, { username: 'admin', role: 'admin', siteScope: null });
    const noCsrf = await call({
      method: 'POST',
      url: '/api/v1/sites',
      auth: null,
      cookie,
      payload: { id: 'csrf-site', name: 'x' },
    });
    assert.deepEqual([noCsrf.status, noCsrf.body.code], [403, 'TP_HUB_AUTH_CSRF']);
    const withCsrf = await call({
      method: 'POST',
      url: '/api/v1/sites',
      auth: null,
      cookie,
      csrf,
      payload: { id: 'csrf-site', name: 'x' },
    });
    assert.equal(withCsrf.status, 201);
    const out = await call({ method: 'POST', url: '/api/v1/auth/logout', auth: null, cookie, csrf });
    assert.equal(out.status, 204);
    assert.equal((await call({ url: '/api/v1/auth/me', auth: null, cookie })).status, 401);
    const audit = await call({ url: '/api/v1/audit?target=csrf-site' });
    assert.deepEqual(
      audit.body.entries.map((e: { actor: string; action: string }) => [e.actor, e.action]),
      [['admin', 'site.create']],
    );
  });

  test('failed logins are rate limited per user name', async () => {
    await call({
      method: 'POST',
      url: '/api/v1/users',
      payload: { username: 'rita', password: 'a-long-password-1', role: 'viewer' },
    });
    for (let i = 0; i < 3; i++) {
      const r = await call({
        method: 'POST',
        url: '/api/v1/auth/login',
        auth: null,
        payload: { username: 'rita', password: 'wrong' },
      });
      assert.equal(r.body.code, 'TP_HUB_AUTH_LOGIN_FAILED');
    }
    const limited = await call({
      method: 'POST',
      url: '/api/v1/auth/login',
      auth: null,
      payload: { username: 'rita', password: 'a-long-password-1' },
    });
    assert.deepEqual([limited.status, limited.body.code], [429, 'TP_HUB_AUTH_RATE_LIMITED']);
  });

  test('sites: the hub makes the roster key unless provisioning gives one; coded refusals', async () => {
    const made = await call({
      method: 'POST',
      url: '/api/v1/sites',
      payload: { id: 'site-a', name: 'HQ', timeZone: 'Europe/Paris' },
    });
    assert.equal(made.status, 201);
    assert.equal(made.body.site.rosterSeq, 0);
    assert.equal(Buffer.from(made.body.rosterKey.key, 'base64url').byteLength, 32);
    const key = randomBytes(32).toString('base64url');
    const given = await call({
      method: 'POST',
      url: '/api/v1/sites',
      payload: { id: 'site-b', name: 'Depot', timeZone: 'UTC', rosterKey: { id: 'site-b.k1', key } },
    });
    assert.equal(given.body.rosterKey, null);
    const again = await call({ method: 'POST', url: '/api/v1/sites', payload: { id: 'site-a', name: 'HQ' } });
    assert.deepEqual([again.status, again.body.code], [409, 'TP_HUB_STORE_SITE_EXISTS']);
    const zone = await call({
      method: 'POST',
      url: '/api/v1/sites',
      payload: { id: 'site-z', name: 'Z', timeZone: 'Mars/Olympus' },
    });
    assert.deepEqual([zone.status, zone.body.code], [422, 'TP_HUB_STORE_TIME_ZONE_INVALID']);
    const invalid = await call({ method: 'POST', url: '/api/v1/sites', payload: { id: 'Bad Id', name: '' } });
    assert.deepEqual([invalid.status, invalid.body.code], [400, 'TP_HUB_REQUEST_INVALID']);
    assert.ok(invalid.body.details.problems.some((p: string) => p.startsWith('id:')));
    assert.ok(invalid.body.details.problems.some((p: string) => p.startsWith('name:')));
    const sites = await call({ url: '/api/v1/sites' });
    assert.deepEqual(
      sites.body.sites.map((s: { id: string }) => s.id),
      ['csrf-site', 'site-a', 'site-b'],
    );
  });

  test('devices: registration checks key and hash formats; revocation; offline registration files', async () => {
    const badKey = await call({
      method: 'POST',
      url: '/api/v1/devices',
      payload: { ...(await device('cam-1', 'site-a')), publicKey: 'abc' },
    });
    assert.deepEqual([badKey.status, badKey.body.code], [422, 'TP_PROTO_KEY_INVALID']);
    const badHash = await call({
      method: 'POST',
      url: '/api/v1/devices',
      payload: { ...(await device('cam-1', 'site-a')), brokerPasswordHash: 'plain' },
    });
    assert.deepEqual([badHash.status, badHash.body.code], [422, 'TP_HUB_PASSWORD_HASH_INVALID']);
    const cam1 = await device('cam-1', 'site-a');
    const ok = await call({ method: 'POST', url: '/api/v1/devices', payload: cam1 });
    assert.equal(ok.status, 201);
    assert.equal(ok.body.status, 'active');
    assert.equal(ok.body.online, false);
    assert.equal('brokerPasswordHash' in ok.body, false);
    const dup = await call({ method: 'POST', url: '/api/v1/devices', payload: cam1 });
    assert.deepEqual([dup.status, dup.body.code], [409, 'TP_HUB_STORE_DEVICE_EXISTS']);
    const unknownSite = await call({
      method: 'POST',
      url: '/api/v1/devices',
      payload: await device('cam-x', 'nowhere'),
    });
    assert.deepEqual([unknownSite.status, unknownSite.body.code], [404, 'TP_HUB_STORE_SITE_UNKNOWN']);
    const mismatch = await call({
      method: 'POST',
      url: '/api/v1/devices/cam-1/revoke',
      payload: { site: 'site-b', id: 'cam-1' },
    });
    assert.deepEqual([mismatch.status, mismatch.body.code], [422, 'TP_HUB_STORE_DEVICE_SITE_MISMATCH']);
    const revoked = await call({
      method: 'POST',
      url: '/api/v1/devices/cam-1/revoke',
      payload: { site: 'site-a', id: 'cam-1', reason: 'stolen' },
    });
    assert.equal(revoked.body.status, 'revoked');
    assert.equal((await app.devices.ensure('cam-1'))?.status, 'revoked', 'ingestion refuses it at once');

    const file = {
      format: 'truepresence-registrations',
      version: 1,
      entries: [
        {
          kind: 'site',
          at: '2026-01-05T08:00:00Z',
          site: {
            id: 'site-c',
            name: 'Annex',
            timeZone: 'UTC',
            rosterKey: { id: 'site-c.k1', key: randomBytes(32).toString('base64url') },
          },
        },
        { kind: 'device', at: '2026-01-05T08:01:00Z', device: await device('cam-c1', 'site-c') },
        { kind: 'device', at: '2026-01-05T08:02:00Z', device: await device('cam-c2', 'site-c') },
        {
          kind: 'revocation',
          at: '2026-01-05T08:03:00Z',
          revocation: { site: 'site-c', id: 'cam-c2', reason: 'lost' },
        },
      ],
    };
    const imported = await call({ method: 'POST', url: '/api/v1/registrations', payload: file });
    assert.deepEqual(
      imported.body.entries.map((e: { result: string }) => e.result),
      ['created', 'registered', 'registered', 'revoked'],
    );
    const twice = await call({ method: 'POST', url: '/api/v1/registrations', payload: file });
    assert.deepEqual(
      twice.body.entries.map((e: { result: string }) => e.result),
      ['TP_HUB_STORE_SITE_EXISTS', 'TP_HUB_STORE_DEVICE_EXISTS', 'TP_HUB_STORE_DEVICE_EXISTS', 'revoked'],
    );
    const devices = await call({ url: '/api/v1/devices?siteId=site-c' });
    assert.deepEqual(
      devices.body.devices.map((d: { id: string; status: string }) => [d.id, d.status]),
      [
        ['cam-c1', 'active'],
        ['cam-c2', 'revoked'],
      ],
    );
  });

  test('roles: viewers read, managers change the people of their sites only, admins everything', async () => {
    await call({
      method: 'POST',
      url: '/api/v1/users',
      payload: { username: 'vera', password: 'viewer-password-1', role: 'viewer' },
    });
    await call({
      method: 'POST',
      url: '/api/v1/users',
      payload: { username: 'max', password: 'manager-password-1', role: 'manager', siteScope: ['site-a'] },
    });
    const viewer = await login('vera', 'viewer-password-1');
    const manager = await login('max', 'manager-password-1');
    assert.equal((await call({ url: '/api/v1/people', auth: null, cookie: viewer.cookie })).status, 200);
    const refused = await call({
      method: 'POST',
      url: '/api/v1/people',
      auth: null,
      ...viewer,
      payload: { displayName: 'X', siteIds: ['site-a'] },
    });
    assert.deepEqual([refused.status, refused.body.code], [403, 'TP_HUB_AUTH_FORBIDDEN']);
    const mine = await call({
      method: 'POST',
      url: '/api/v1/people',
      auth: null,
      ...manager,
      payload: { displayName: 'Mia', siteIds: ['site-a'] },
    });
    assert.equal(mine.status, 201);
    const theirs = await call({
      method: 'POST',
      url: '/api/v1/people',
      auth: null,
      ...manager,
      payload: { displayName: 'Bo', siteIds: ['site-b'] },
    });
    assert.deepEqual([theirs.status, theirs.body.code], [403, 'TP_HUB_AUTH_FORBIDDEN']);
    const site = await call({
      method: 'POST',
      url: '/api/v1/sites',
      auth: null,
      ...manager,
      payload: { id: 'site-m', name: 'M' },
    });
    assert.deepEqual([site.status, site.body.code], [403, 'TP_HUB_AUTH_FORBIDDEN']);
    const devices = await call({ url: '/api/v1/devices', auth: null, cookie: manager.cookie });
    assert.deepEqual([...new Set(devices.body.devices.map((d: { siteId: string }) => d.siteId))], ['site-a']);
    const audit = await call({ url: '/api/v1/audit', auth: null, cookie: manager.cookie });
    assert.equal(audit.status, 403);
  });

  test('people and consent: create with the legal basis, edit, withdraw, erase; each change audited', async () => {
    const created = await call({
      method: 'POST',
      url: '/api/v1/people',
      payload: {
        displayName: 'Ada Lovelace',
        externalId: 'HR-001',
        groups: ['engineering'],
        siteIds: ['site-a'],
        consent: { legalBasis: 'consent', noticeVersion: 'notice-2026-01' },
      },
    });
    assert.equal(created.status, 201);
    const id = created.body.person.id as string;
    assert.equal(created.body.consent.recordedBy, 'api-token');
    const dup = await call({
      method: 'POST',
      url: '/api/v1/people',
      payload: { displayName: 'Other', externalId: 'HR-001' },
    });
    assert.deepEqual([dup.status, dup.body.code], [409, 'TP_HUB_STORE_EXTERNAL_ID_TAKEN']);
    const patched = await call({
      method: 'PATCH',
      url: `/api/v1/people/${id}`,
      payload: { groups: ['engineering', 'night'], siteIds: ['site-a', 'site-b'] },
    });
    assert.deepEqual(patched.body.siteIds.sort(), ['site-a', 'site-b']);
    const found = await call({ url: '/api/v1/people?search=lovel' });
    assert.deepEqual(
      found.body.people.map((p: { id: string }) => p.id),
      [id],
    );
    const detail = await call({ url: `/api/v1/people/${id}` });
    assert.equal(detail.body.consents.length, 1);
    assert.deepEqual(detail.body.templates, []);
    const withdrawn = await call({
      method: 'POST',
      url: `/api/v1/people/${id}/consents/${detail.body.consents[0].id}/withdraw`,
    });
    assert.equal(withdrawn.body.consent.withdrawnBy, 'api-token');
    const noBasis = await call({
      method: 'POST',
      url: `/api/v1/people/${id}/photos`,
      headers: { 'content-type': 'image/jpeg' },
      payload: Buffer.from([0xff, 0xd8, 0xff]),
    });
    assert.deepEqual([noBasis.status, noBasis.body.code], [422, 'TP_HUB_STORE_CONSENT_MISSING']);
    const gif = await call({
      method: 'POST',
      url: `/api/v1/people/${id}/photos`,
      headers: { 'content-type': 'image/gif' },
      payload: Buffer.from('GIF89a'),
    });
    assert.deepEqual([gif.status, gif.body.code], [415, 'TP_HUB_MEDIA_TYPE_UNSUPPORTED']);
    const erased = await call({ method: 'DELETE', url: `/api/v1/people/${id}` });
    assert.equal(erased.status, 200);
    assert.equal(erased.body.erasure.complete, true, 'no active device on its sites has anything to confirm');
    assert.ok(erased.body.erasure.erasedAt > 0);
    const gone = await call({ url: `/api/v1/people?search=lovel` });
    assert.deepEqual(gone.body.people, []);
    const audit = await call({ url: `/api/v1/audit?target=${id}` });
    assert.deepEqual(audit.body.entries.map((e: { action: string }) => e.action).reverse(), [
      'person.create',
      'consent.record',
      'person.update',
      'consent.withdraw',
      'person.erase',
    ]);
  });

  test('attendance, events and counts from stored events; cursor pagination; evidence', async () => {
    const devId = 'cam-a2';
    await call({ method: 'POST', url: '/api/v1/devices', payload: await device(devId, 'site-a') });
    // 2026-01-05 in Paris: person p1 in at 08:00 by door-1, out at 17:00 by door-2; p2 only once.
    const at = (h: number, m = 0) => Date.UTC(2026, 0, 5, h - 1, m);
    const rows: Array<[string, number, 'in' | 'out', string]> = [
      ['p1', at(8), 'in', 'door-1'],
      ['p1', at(12), 'out', 'door-1'],
      ['p1', at(13), 'in', 'door-1'],
      ['p1', at(17), 'out', 'door-2'],
      ['p2', at(9, 30), 'in', 'door-1'],
    ];
    const events: NewEvent[] = rows.map(([personId, capturedAt, direction, cameraId], i) => ({
      eventId: randomUUID(),
      deviceId: devId,
      siteId: 'site-a',
      cameraId,
      kind: 'attendance',
      personId,
      direction,
      capturedAt,
      similarity: 0.8,
      margin: 0.2,
      liveness: 0.99,
      quality: 0.7,
      rosterSeq: 1,
      modelPackVersion: 'p@1',
      deviceSeq: i + 1,
      prevHash: '0'.repeat(64),
      envelopeHash: String(i).padStart(64, 'a'),
      envelope: JSON.stringify({ id: i }),
      receivedAt: capturedAt + 100,
    }));
    events.push({
      ...events[0]!,
      eventId: randomUUID(),
      kind: 'unknown',
      personId: null,
      deviceSeq: 6,
      envelopeHash: 'b'.repeat(64),
    });
    await app.store.insertEvents(events);
    const attendance = await call({ url: '/api/v1/attendance?siteId=site-a&from=2026-01-05&to=2026-01-05' });
    assert.deepEqual(
      attendance.body.days.map((d: Record<string, unknown>) => [
        d.personId,
        d.passes,
        d.firstInAt,
        d.firstInCameraId,
        d.lastOutAt,
        d.lastOutCameraId,
      ]),
      [
        ['p1', 4, at(8), 'door-1', at(17), 'door-2'],
        ['p2', 1, at(9, 30), 'door-1', null, null],
      ],
    );
    const door2 = await call({
      url: '/api/v1/attendance?siteId=site-a&from=2026-01-05&to=2026-01-05&cameraId=door-2',
    });
    assert.deepEqual(
      door2.body.days.map((d: { personId: string }) => d.personId),
      ['p1'],
    );
    const badDate = await call({ url: '/api/v1/attendance?siteId=site-a&from=2026-02-30&to=2026-03-01' });
    assert.deepEqual([badDate.status, badDate.body.code], [422, 'TP_HUB_STORE_DATE_INVALID']);
    const page1 = await call({ url: '/api/v1/events?siteId=site-a&limit=4' });
    assert.equal(page1.body.events.length, 4);
    const page2 = await call({ url: `/api/v1/events?siteId=site-a&limit=4&after=${page1.body.next}` });
    assert.equal(page2.body.events.length, 2);
    assert.equal(page2.body.next, null);
    assert.equal(
      new Set([...page1.body.events, ...page2.body.events].map((e: { eventId: string }) => e.eventId)).size,
      6,
    );
    const counts = await call({ url: '/api/v1/events/counts?siteId=site-a' });
    assert.deepEqual(counts.body, { attendance: 5, unknown: 1, spoof: 0 });
    const onlyUnknown = await call({ url: '/api/v1/events?siteId=site-a&kind=unknown' });
    assert.deepEqual(
      onlyUnknown.body.events.map((e: { kind: string }) => e.kind),
      ['unknown'],
    );
    const one = await call({ url: `/api/v1/events/${events[0]!.eventId}` });
    assert.deepEqual(one.body.envelope, { id: 0 });
  });

  test('alerts are listed and acknowledged (audited); unknown routes and broken JSON get coded errors', async () => {
    const alert = await app.store.addAlert({
      kind: 'sequence_gap',
      siteId: 'site-a',
      deviceId: 'cam-a2',
      details: { missingFrom: 3, missingTo: 4 },
    });
    const list = await call({ url: '/api/v1/alerts?siteId=site-a&unacknowledged=true&kind=sequence_gap' });
    assert.deepEqual(
      list.body.alerts.map((a: { id: number }) => a.id),
      [alert.id],
    );
    const acked = await call({ method: 'POST', url: `/api/v1/alerts/${alert.id}/acknowledge` });
    assert.equal(acked.body.acknowledgedBy, 'api-token');
    assert.deepEqual(
      (await call({ url: '/api/v1/alerts?siteId=site-a&unacknowledged=true' })).body.alerts,
      [],
    );
    const missing = await call({ url: '/api/v1/nothing-here' });
    assert.deepEqual([missing.status, missing.body.code], [404, 'TP_HUB_NOT_FOUND']);
    const broken = await call({
      method: 'POST',
      url: '/api/v1/people',
      headers: { 'content-type': 'application/json' },
      payload: '{"displayName":',
    });
    assert.deepEqual([broken.status, broken.body.code], [400, 'TP_HUB_REQUEST_INVALID']);
  });
});

describe('metrics with a token and loopback off', () => {
  const metricsDir = tempDir('tp-hub-metrics-');
  const metricsToken = randomBytes(24).toString('base64url');
  let hub: FastifyInstance;

  before(async () => {
    const tokenFile = join(metricsDir.path, 'metrics-token');
    writeFileSync(tokenFile, `${metricsToken}\n`, { mode: 0o600 });
    ({ app: hub } = await startHub({
      dataDir: metricsDir.path,
      store: { type: 'sqlite', path: join(metricsDir.path, 'hub.sqlite') },
      metrics: { token: { file: tokenFile }, loopback: false },
    }));
  });

  after(async () => {
    await hub?.close();
    metricsDir.dispose();
  });

  test('only scrapes with the token are served, from anywhere', async () => {
    const scrape = (remoteAddress: string, token?: string) =>
      hub.inject({
        url: '/metrics',
        remoteAddress,
        ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }),
      });
    for (const address of ['127.0.0.1', '203.0.113.7']) {
      const served = await scrape(address, metricsToken);
      assert.equal(served.statusCode, 200, address);
      assert.match(served.body, /^tp_hub_devices_online 0$/m);
      const none = await scrape(address);
      assert.deepEqual([none.statusCode, none.json().code], [401, 'TP_HUB_AUTH_REQUIRED'], address);
      assert.equal((await scrape(address, `${metricsToken}x`)).statusCode, 401, address);
      assert.equal((await scrape(address, hub.keys.adminToken)).statusCode, 401, address);
    }
    assert.doesNotMatch((await scrape('203.0.113.7')).body, /tp_hub_/);
  });
});
