// Enrolment with real photos (the group photos of @vladmandic/face-api, cropped and spoilt with sharp at test
// time) through the real model pack, and the roster changes that follow: sealed for the site, published to
// the agents, served by sync in bounded batches, and after erasure re-sealed so that no template of the
// erased person is left, with the erasure confirmed by the agent's status.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodeVector,
  openRosterChange,
  publicKeyFromBase64,
  type RosterChange,
  type SealedRosterChange,
} from '@truepresence/protocol';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { waitForEvent } from '../helpers/wait.ts';
import { type RunningHub, startHub, tempDir } from './harness.ts';
import { makeIdentity, registration, SimDevice } from './sim-device.ts';

const photos = join(import.meta.dirname, '..', '..', 'node_modules', '@vladmandic', 'face-api', 'demo');

/** A face of a sample photo with a margin around its box (boxes found by the default pack's detector). */
function face(file: string, [x, y, w, h]: [number, number, number, number], margin = 0.6) {
  return sharp(join(photos, file)).extract({
    left: Math.round(x - w * margin),
    top: Math.round(y - h * margin),
    width: Math.round(w * (1 + 2 * margin)),
    height: Math.round(h * (1 + 2 * margin)),
  });
}
const ada1 = () => face('sample6.jpg', [252, 483, 214, 276]);
const bob = () => face('sample6.jpg', [1172, 310, 188, 271]);
const ada2 = () => face('sample3.jpg', [589, 329, 202, 278]);

interface Rejection {
  name: string;
  photo: () => Promise<Buffer>;
  type: string;
  code: string;
}

describe('enrolment from photos and the roster it feeds', () => {
  const dir = tempDir();
  let hub: RunningHub;
  let device: SimDevice;
  const siteKey = { id: 'site-e.k1', key: randomBytes(32) };
  let keys: {
    siteKeys: (id: string) => Buffer | undefined;
    hubPublicKeys: (id: string) => ReturnType<typeof publicKeyFromBase64> | undefined;
    site: string;
  };
  const people: Record<string, string> = {};
  const open = (sealed: SealedRosterChange): RosterChange => openRosterChange(sealed, keys);

  before(async () => {
    hub = await startHub({
      dataDir: dir.path,
      store: { type: 'sqlite', path: join(dir.path, 'hub.sqlite') },
      roster: { syncBatchLimit: 2 },
    });
    await hub.api(
      'POST',
      '/api/v1/sites',
      { id: 'site-e', name: 'E', rosterKey: { id: siteKey.id, key: siteKey.key.toString('base64url') } },
      201,
    );
    const identity = await makeIdentity('site-e', 'cam-e');
    await hub.api('POST', '/api/v1/devices', registration(identity), 201);
    device = new SimDevice(identity, hub.brokerUrl!);
    await device.connect();
    const hubKey = await hub.api<{ keyId: string; publicKey: string }>('GET', '/api/v1/hub-key');
    keys = {
      site: 'site-e',
      siteKeys: (id) => (id === siteKey.id ? siteKey.key : undefined),
      hubPublicKeys: (id) => (id === hubKey.keyId ? publicKeyFromBase64(hubKey.publicKey) : undefined),
    };
    const consent = { legalBasis: 'consent', noticeVersion: 'n-1' };
    for (const [name, body] of Object.entries({
      ada: { displayName: 'Ada', siteIds: ['site-e'], consent },
      bob: { displayName: 'Bob', siteIds: ['site-e'], consent },
      cy: { displayName: 'Cy (no consent yet)', siteIds: ['site-e'] },
      dee: { displayName: 'Dee (no site)', consent },
    })) {
      people[name] = (
        await hub.api<{ person: { id: string } }>('POST', '/api/v1/people', body, 201)
      ).person.id;
    }
  });

  after(async () => {
    await device?.close();
    await hub?.close();
    dir.dispose();
  });

  const upload = (personId: string, body: Buffer, type = 'image/jpeg') =>
    hub.app.inject({
      method: 'POST',
      url: `/api/v1/people/${personId}/photos`,
      headers: { authorization: `Bearer ${hub.app.keys.adminToken}`, 'content-type': type },
      payload: body,
    });

  test('a good photo enrols: template stored encrypted, change sealed for the site and published', async () => {
    const published = waitForEvent(
      device,
      'roster',
      () => device.roster.length >= 1,
      'roster change on MQTT',
    );
    const response = await upload(people.ada!, await ada1().jpeg().toBuffer());
    assert.equal(response.statusCode, 201, response.body);
    const result = response.json();
    assert.deepEqual(result.rosterChanges, [{ siteId: 'site-e', seq: 1, kind: 'enrol' }]);
    assert.match(result.alignedFace, /^data:image\/png;base64,/);
    const aligned = await sharp(Buffer.from(result.alignedFace.split(',')[1], 'base64')).metadata();
    assert.deepEqual([aligned.width, aligned.height], [112, 112]);
    assert.equal(result.template.modelPack, 'faceplugin-default@1.0.0');
    await published;
    const change = open(device.roster[0]!);
    assert.deepEqual(
      [change.seq, change.kind, change.personId, change.templates.length],
      [1, 'enrol', people.ada, 1],
    );
    const vector = decodeVector(change.templates[0]!.vector);
    assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-3, 'an L2-normalised embedding');
    // At rest on the hub the template is ciphertext, and the photo was not kept.
    const db = new Database(join(dir.path, 'hub.sqlite'), { readonly: true });
    try {
      const [row] = db.prepare('select template from templates').all() as Array<{ template: Buffer }>;
      const clear = Buffer.from(vector.buffer);
      assert.equal(row!.template.includes(clear.subarray(0, 32)), false);
      assert.equal((db.prepare('select count(*) as n from photos').get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  });

  test('bad photos are refused, each with the reason', async () => {
    const canvas = () => sharp({ create: { width: 400, height: 300, channels: 3, background: '#808080' } });
    const cases: Rejection[] = [
      {
        name: 'group photo',
        photo: () => sharp(join(photos, 'sample1.jpg')).resize(1280).jpeg().toBuffer(),
        type: 'image/jpeg',
        code: 'TP_HUB_ENROL_SEVERAL_FACES',
      },
      {
        name: 'face too small',
        photo: async () =>
          canvas()
            .composite([{ input: await ada1().resize(90).toBuffer(), left: 150, top: 100 }])
            .jpeg()
            .toBuffer(),
        type: 'image/jpeg',
        code: 'TP_HUB_ENROL_FACE_TOO_SMALL',
      },
      {
        name: 'blurred',
        photo: () => ada1().blur(8).jpeg().toBuffer(),
        type: 'image/jpeg',
        code: 'TP_HUB_ENROL_TOO_BLURRED',
      },
      {
        name: 'dark',
        photo: () => ada1().linear(0.2, 0).png().toBuffer(),
        type: 'image/png',
        code: 'TP_HUB_ENROL_TOO_DARK',
      },
      {
        name: 'overexposed',
        photo: () => ada1().linear(1.6, 90).jpeg().toBuffer(),
        type: 'image/jpeg',
        code: 'TP_HUB_ENROL_TOO_BRIGHT',
      },
      {
        name: 'head turned away',
        photo: () =>
          sharp(join(photos, 'sample2.jpg'))
            .extract({ left: 215, top: 0, width: 460, height: 480 })
            .jpeg()
            .toBuffer(),
        type: 'image/jpeg',
        code: 'TP_HUB_ENROL_POSE',
      },
      {
        name: 'no face',
        photo: () =>
          sharp(join(photos, 'sample1.jpg'))
            .extract({ left: 0, top: 0, width: 400, height: 300 })
            .webp()
            .toBuffer(),
        type: 'image/webp',
        code: 'TP_HUB_ENROL_NO_FACE',
      },
      {
        name: 'not an image',
        photo: async () => randomBytes(5000),
        type: 'image/jpeg',
        code: 'TP_HUB_ENROL_IMAGE_UNREADABLE',
      },
    ];
    for (const c of cases) {
      const response = await upload(people.bob!, await c.photo(), c.type);
      assert.equal(response.statusCode, 422, `${c.name}: ${response.body}`);
      assert.equal(response.json().code, c.code, c.name);
    }
    const duplicate = await upload(people.bob!, await ada1().resize(300).png().toBuffer(), 'image/png');
    assert.equal(duplicate.json().code, 'TP_HUB_ENROL_DUPLICATE');
    assert.equal(duplicate.json().details.personId, people.ada);
    assert.match(duplicate.json().message, /looks like already-enrolled person "Ada"/);
    assert.equal(
      (await upload(people.cy!, await bob().jpeg().toBuffer())).json().code,
      'TP_HUB_STORE_CONSENT_MISSING',
    );
    assert.equal(
      (await upload(people.dee!, await bob().jpeg().toBuffer())).json().code,
      'TP_HUB_PERSON_NO_SITE',
    );
    const metrics = (await hub.app.inject({ url: '/metrics' })).body;
    assert.match(metrics, /^tp_hub_enrolments_total\{result="TP_HUB_ENROL_DUPLICATE"\} 1$/m);
    assert.equal(device.roster.length, 1, 'no refused photo changed the roster');
  });

  test('sync answers in bounded batches until the agent is current', async () => {
    assert.equal((await upload(people.bob!, await bob().jpeg().toBuffer())).statusCode, 201);
    const update = await upload(people.ada!, await ada2().jpeg().toBuffer());
    assert.deepEqual(update.json().rosterChanges, [{ siteId: 'site-e', seq: 3, kind: 'update' }]);
    const first = await device.requestSync(0);
    assert.deepEqual([first.changes.map((c) => c.seq), first.currentSeq, first.more], [[1, 2], 3, true]);
    const second = await device.requestSync(2);
    assert.deepEqual([second.changes.map((c) => c.seq), second.currentSeq, second.more], [[3], 3, false]);
    const latest = open(second.changes[0]!);
    assert.deepEqual([latest.kind, latest.personId, latest.templates.length], ['update', people.ada, 2]);
  });

  test('erasure reaches the agent, leaves no template in the change log, and is confirmed by its status', async () => {
    const published = waitForEvent(
      device,
      'roster',
      () => device.roster.some((c) => c.seq === 4),
      'erase change on MQTT',
    );
    const erased = await hub.api<{
      erasure: { complete: boolean; devices: Array<{ deviceId: string; seq: number; confirmed: boolean }> };
      changesResealed: number;
    }>('DELETE', `/api/v1/people/${people.ada}`);
    assert.deepEqual(erased.erasure.devices, [
      { siteId: 'site-e', seq: 4, deviceId: 'cam-e', rosterSeqApplied: null, confirmed: false },
    ]);
    assert.equal(erased.erasure.complete, false);
    assert.equal(erased.changesResealed, 2);
    await published;
    assert.deepEqual(
      [
        open(device.roster.find((c) => c.seq === 4)!).kind,
        open(device.roster.find((c) => c.seq === 4)!).personId,
      ],
      ['erase', people.ada],
    );
    const log = [...(await device.requestSync(0)).changes, ...(await device.requestSync(2)).changes].map(
      open,
    );
    assert.deepEqual(
      log.map((c) => [c.seq, c.kind, c.personId === people.ada ? 'ada' : 'bob', c.templates.length]),
      [
        [1, 'erase', 'ada', 0],
        [2, 'enrol', 'bob', 1],
        [3, 'erase', 'ada', 0],
        [4, 'erase', 'ada', 0],
      ],
    );
    const confirmed = new Promise<void>((resolve) => {
      const check = async () => {
        const status = await hub.api<{ complete: boolean }>('GET', `/api/v1/people/${people.ada}/erasure`);
        if (status.complete) resolve();
        else setTimeout(() => void check(), 20);
      };
      void check();
    });
    device.publishStatus({
      state: 'online',
      rosterSeq: 4,
      backlog: 0,
      modelPack: 'faceplugin-default@1.0.0',
    });
    await confirmed;
    const status = await hub.api<{ devices: Array<{ rosterSeqApplied: number; confirmed: boolean }> }>(
      'GET',
      `/api/v1/people/${people.ada}/erasure`,
    );
    assert.deepEqual(
      status.devices.map((d) => [d.rosterSeqApplied, d.confirmed]),
      [[4, true]],
    );
    const view = await hub.api<{ online: boolean; rosterSeqApplied: number; rosterLag: number }>(
      'GET',
      '/api/v1/devices/cam-e',
    );
    assert.deepEqual([view.online, view.rosterSeqApplied, view.rosterLag], [true, 4, 0]);
  });
});
