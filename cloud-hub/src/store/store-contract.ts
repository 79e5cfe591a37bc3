// The one test suite every HubStore passes (SQLite and PostgreSQL run it from their own *.test.ts files).
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { isTpError } from '@truepresence/protocol';
import { HubErrorCode } from '../errors.ts';
import type {
  HubRepository,
  HubStore,
  NewEvent,
  RosterChangeHeader,
  RosterSealer,
  StoredEvent,
} from './hub-store.ts';
import type { StoreOptions } from './kysely-store.ts';

export interface StoreHarness {
  /** A new, not yet started store on this run's database; each call opens its own connections. */
  open(options: StoreOptions): HubStore;
  /** Runs SQL on the database behind the store's back. */
  exec(sqlText: string): Promise<void>;
  /** Drops the database. */
  dispose(): Promise<void>;
}

// Every method of the interface; the type makes this list complete, the last test checks each was called.
const methods = {
  createSite: true,
  getSite: true,
  listSites: true,
  updateSite: true,
  addSiteKey: true,
  listSiteKeys: true,
  registerDevice: true,
  getDevice: true,
  getDeviceByBrokerUsername: true,
  listDevices: true,
  revokeDevice: true,
  recordDeviceStatus: true,
  chainNeighbours: true,
  chainNeighboursMany: true,
  insertEvent: true,
  insertEvents: true,
  getEvent: true,
  listEvents: true,
  countEvents: true,
  countStoredSeqs: true,
  attendance: true,
  addAlert: true,
  listAlerts: true,
  acknowledgeAlert: true,
  resolveAlert: true,
  createPerson: true,
  getPerson: true,
  getPersonByExternalId: true,
  listPeople: true,
  updatePerson: true,
  recordConsent: true,
  withdrawConsent: true,
  listConsents: true,
  addTemplate: true,
  listTemplates: true,
  deleteTemplate: true,
  addPhoto: true,
  getPhoto: true,
  listPhotos: true,
  deletePhoto: true,
  appendRosterChange: true,
  rosterChangesAfter: true,
  erasePerson: true,
  erasureStatus: true,
  createUser: true,
  getUser: true,
  listUsers: true,
  updateUser: true,
  deleteUser: true,
  createSession: true,
  getSession: true,
  touchSession: true,
  deleteSession: true,
  deleteExpiredSessions: true,
  appendAudit: true,
  listAudit: true,
  start: true,
  stop: true,
  transaction: true,
} satisfies Record<Exclude<keyof HubStore, 'dialect'>, true>;

/** Wraps a repository so that every method called through it is noted in `called`. */
function recording<R extends HubRepository>(target: R, called: Set<string>): R {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        called.add(property);
        if (property === 'transaction') {
          const work = args[0] as (repository: HubRepository) => Promise<unknown>;
          return (object as unknown as HubStore).transaction((repository) =>
            work(recording(repository, called)),
          );
        }
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isTpError(error), `expected a TpError ${code}, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const sealer =
  (seen: RosterChangeHeader[] = []): RosterSealer =>
  (header) => {
    seen.push(header);
    return Buffer.from(`sealed:${header.siteId}:${header.seq}:${header.kind}`);
  };

export function storeContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`HubStore contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: HubStore;
    const called = new Set<string>();
    let now = Date.UTC(2026, 0, 5, 12);
    const clock = () => now;
    let counter = 0;
    const uid = (prefix: string) => `${prefix}-${++counter}`;

    before(async () => {
      harness = await makeHarness();
      store = recording(harness.open({ now: clock }), called);
      await store.start();
    });
    after(async () => {
      await store?.stop();
      await harness?.dispose();
    });

    async function site(timeZone = 'UTC') {
      return store.createSite({ id: uid('site'), name: 'Main entrance', timeZone });
    }
    async function device(siteId: string) {
      const id = uid('dev');
      return store.registerDevice({
        id,
        siteId,
        publicKey: Buffer.alloc(32, counter).toString('base64'),
        brokerUsername: `mqtt-${id}`,
        brokerPasswordHash: `scrypt$${id}`,
      });
    }
    function event(
      dev: { id: string; siteId: string },
      seq: number,
      fields: Partial<NewEvent> = {},
    ): NewEvent {
      const eventId = fields.eventId ?? randomUUID();
      const envelope = JSON.stringify({ id: eventId, seq, device: dev.id });
      return {
        eventId,
        deviceId: dev.id,
        siteId: dev.siteId,
        cameraId: 'door-a',
        kind: 'attendance',
        personId: 'person-1',
        direction: 'in',
        capturedAt: Date.UTC(2026, 0, 5, 8, 0, seq),
        similarity: 0.8125,
        margin: 0.25,
        liveness: 0.9921875,
        quality: 0.75,
        rosterSeq: 3,
        modelPackVersion: 'default-1.0.0',
        deviceSeq: seq,
        prevHash: hash(`prev-${dev.id}-${seq}`),
        envelopeHash: hash(`${dev.id}-${seq}`),
        envelope,
        receivedAt: now,
        ...fields,
      };
    }
    async function consentingPerson(siteIds: string[] = [], groups: string[] = []) {
      const person = await store.createPerson({ displayName: 'Ada Lovelace', siteIds, groups });
      await store.recordConsent({
        personId: person.id,
        legalBasis: 'consent',
        noticeVersion: 'notice-2026-01',
        recordedBy: 'admin',
      });
      return person;
    }

    test('start runs migrations once; a second store on the same database shares the data', async () => {
      await store.start();
      const created = await site();
      const other = harness.open({ now: clock });
      await other.start();
      try {
        assert.equal(other.dialect, store.dialect);
        assert.deepEqual(await other.getSite(created.id), created);
      } finally {
        await other.stop();
      }
      await rejectsWith(other.listSites(), HubErrorCode.storeNotStarted);
    });

    test('sites: create, read, list, update, coded refusals', async () => {
      const created = await store.createSite({ id: uid('site'), name: 'Depot', timeZone: 'Europe/Paris' });
      assert.deepEqual(created, {
        id: created.id,
        name: 'Depot',
        timeZone: 'Europe/Paris',
        rosterSeq: 0,
        createdAt: now,
      });
      assert.deepEqual(await store.getSite(created.id), created);
      assert.equal(await store.getSite('no-such-site'), undefined);
      assert.ok((await store.listSites()).some((s) => s.id === created.id));
      const renamed = await store.updateSite(created.id, { name: 'Depot North', timeZone: 'Asia/Kolkata' });
      assert.equal(renamed.name, 'Depot North');
      assert.equal(renamed.timeZone, 'Asia/Kolkata');
      await rejectsWith(
        store.createSite({ id: created.id, name: 'x', timeZone: 'UTC' }),
        HubErrorCode.storeSiteExists,
      );
      await rejectsWith(
        store.createSite({ id: uid('site'), name: 'x', timeZone: 'Mars/Olympus' }),
        HubErrorCode.storeTimeZoneInvalid,
      );
      await rejectsWith(store.updateSite('no-such-site', { name: 'x' }), HubErrorCode.storeSiteUnknown);
      await rejectsWith(
        store.updateSite(created.id, { timeZone: 'Nowhere' }),
        HubErrorCode.storeTimeZoneInvalid,
      );
    });

    test('site keys: sealed bytes kept per site, newest first, ids unique per site', async () => {
      const s = await site();
      assert.deepEqual(await store.listSiteKeys(s.id), []);
      const first = await store.addSiteKey({
        siteId: s.id,
        keyId: 'k1',
        sealedKey: new Uint8Array([1, 2, 3]),
      });
      assert.deepEqual(first, {
        siteId: s.id,
        keyId: 'k1',
        sealedKey: Buffer.from([1, 2, 3]),
        createdAt: now,
      });
      // Same millisecond: insertion order still decides which key is newest.
      await store.addSiteKey({ siteId: s.id, keyId: 'k0', sealedKey: Buffer.from('rotated') });
      assert.deepEqual(
        (await store.listSiteKeys(s.id)).map((k) => k.keyId),
        ['k0', 'k1'],
      );
      await rejectsWith(
        store.addSiteKey({ siteId: s.id, keyId: 'k1', sealedKey: Buffer.from('x') }),
        HubErrorCode.storeSiteKeyExists,
      );
      await rejectsWith(
        store.addSiteKey({ siteId: 'no-such-site', keyId: 'k1', sealedKey: Buffer.from('x') }),
        HubErrorCode.storeSiteUnknown,
      );
      const other = await site();
      await store.addSiteKey({ siteId: other.id, keyId: 'k1', sealedKey: Buffer.from('other') });
      assert.equal((await store.listSiteKeys(other.id)).length, 1);
    });

    test('devices: register, look up, status, revoke', async () => {
      const s = await site();
      const d = await device(s.id);
      assert.equal(d.status, 'active');
      assert.equal(d.registeredAt, now);
      assert.equal(d.lastStatus, null);
      assert.equal(d.chain, null);
      assert.deepEqual(await store.getDevice(d.id), d);
      assert.deepEqual(await store.getDeviceByBrokerUsername(d.brokerUsername), d);
      assert.equal(await store.getDeviceByBrokerUsername('nobody'), undefined);
      const d2 = await device(s.id);
      assert.deepEqual(
        (await store.listDevices({ siteId: s.id })).map((x) => x.id),
        [d.id, d2.id].sort(),
      );
      assert.ok((await store.listDevices()).length >= 2);

      await rejectsWith(
        store.registerDevice({ ...d, id: uid('dev'), siteId: 'no-such-site' }),
        HubErrorCode.storeSiteUnknown,
      );
      await rejectsWith(
        store.registerDevice({ ...d, brokerUsername: 'fresh-name' }),
        HubErrorCode.storeDeviceExists,
      );
      await rejectsWith(store.registerDevice({ ...d, id: uid('dev') }), HubErrorCode.storeDeviceExists);

      now += 1000;
      const cameras = [{ id: 'door-a', state: 'ok', inputFps: 25 }];
      await store.recordDeviceStatus(d.id, {
        online: true,
        backlog: 12,
        rosterSeqApplied: 7,
        modelPackVersion: 'default-1.0.0',
        details: { cameras },
      });
      const online = await store.getDevice(d.id);
      assert.equal(online?.lastSeenAt, now);
      assert.deepEqual(online?.lastStatus, {
        online: true,
        backlog: 12,
        rosterSeqApplied: 7,
        modelPackVersion: 'default-1.0.0',
        details: { cameras },
        reportedAt: now,
      });
      now += 1000;
      await store.recordDeviceStatus(d.id, { online: false });
      const offline = await store.getDevice(d.id);
      assert.equal(offline?.lastStatus?.online, false);
      assert.equal(offline?.lastStatus?.rosterSeqApplied, 7, 'a last will keeps the applied roster seq');
      assert.equal(offline?.lastSeenAt, now - 1000, 'a last will is not a sign of life');
      await rejectsWith(
        store.recordDeviceStatus('no-such-device', { online: true }),
        HubErrorCode.storeDeviceUnknown,
      );

      const revoked = await store.revokeDevice(d.id);
      assert.equal(revoked.status, 'revoked');
      assert.equal(revoked.revokedAt, now);
      now += 1000;
      assert.equal(
        (await store.revokeDevice(d.id)).revokedAt,
        now - 1000,
        'revoking again keeps the first time',
      );
      await rejectsWith(store.revokeDevice('no-such-device'), HubErrorCode.storeDeviceUnknown);
    });

    test('insertEvent stores an id once and advances the chain head in the same transaction', async () => {
      const s = await site();
      const d = await device(s.id);
      const first = event(d, 1, {
        direction: null,
        similarity: null,
        margin: null,
        personId: null,
        kind: 'unknown',
      });
      assert.equal(await store.insertEvent(first), 'inserted');
      assert.equal(await store.insertEvent(first), 'duplicate');
      assert.equal(await store.insertEvent({ ...first, receivedAt: now + 5 }), 'duplicate');
      assert.deepEqual(await store.getEvent(first.eventId), first);
      assert.equal(await store.getEvent(randomUUID()), undefined);
      assert.deepEqual((await store.getDevice(d.id))?.chain, { seq: 1, hash: first.envelopeHash });

      const third = event(d, 3, { receivedAt: now + 10 });
      assert.equal(await store.insertEvent(third), 'inserted');
      const late = event(d, 2, { receivedAt: now + 20 });
      assert.equal(await store.insertEvent(late), 'inserted');
      const after = await store.getDevice(d.id);
      assert.deepEqual(after?.chain, { seq: 3, hash: third.envelopeHash }, 'a late lower seq keeps the head');
      assert.equal(after?.lastSeenAt, now + 20);

      await rejectsWith(store.insertEvent(event(d, 2)), HubErrorCode.storeEventSeqTaken);
      assert.deepEqual((await store.getDevice(d.id))?.chain, { seq: 3, hash: third.envelopeHash });
      await rejectsWith(
        store.insertEvent(event({ id: 'ghost', siteId: s.id }, 1)),
        HubErrorCode.storeDeviceUnknown,
      );
      await rejectsWith(
        store.insertEvent(event({ id: d.id, siteId: 'elsewhere' }, 9)),
        HubErrorCode.storeDeviceSiteMismatch,
      );
      await store.revokeDevice(d.id);
      await rejectsWith(store.insertEvent(event(d, 4)), HubErrorCode.storeDeviceRevoked);
      assert.equal((await store.listEvents({ deviceId: d.id })).length, 3);
    });

    test('insertEvents: batches beyond one statement, duplicates inside and outside the batch', async () => {
      const s = await site();
      const d = await device(s.id);
      const d2 = await device(s.id);
      const stored = event(d, 1);
      await store.insertEvent(stored);
      const batch = Array.from({ length: 1200 }, (_, i) => event(d, i + 2));
      const mixed = [stored, ...batch.slice(0, 600), batch[5]!, ...batch.slice(600), event(d2, 1)];
      const statuses = await store.insertEvents(mixed);
      assert.equal(statuses.length, mixed.length);
      assert.equal(statuses[0], 'duplicate');
      assert.equal(statuses[601], 'duplicate');
      assert.equal(statuses.filter((st) => st === 'inserted').length, 1201);
      assert.deepEqual((await store.getDevice(d.id))?.chain, { seq: 1201, hash: batch[1199]!.envelopeHash });
      assert.deepEqual((await store.getDevice(d2.id))?.chain?.seq, 1);
      assert.deepEqual(await store.insertEvents([]), []);
      assert.equal((await store.countEvents({ deviceId: d.id })).attendance, 1201);
      await rejectsWith(
        store.insertEvents([event(d, 5000), event(d, 5001, { deviceId: 'ghost' })]),
        HubErrorCode.storeDeviceUnknown,
      );
      assert.equal(await store.getEvent(batch[0]!.eventId).then((e) => e?.deviceSeq), 2);
      assert.equal(
        (await store.countEvents({ deviceId: d.id })).attendance,
        1201,
        'a refused batch stores nothing',
      );
    });

    test('chainNeighbours reports what surrounds a seq; inside transactions it serialises one device', async () => {
      const s = await site();
      const d = await device(s.id);
      assert.deepEqual(await store.chainNeighbours(d.id, randomUUID(), 1), {
        sameId: undefined,
        sameSeq: undefined,
        previous: undefined,
        next: undefined,
        highestSeq: 0,
      });
      const [e1, e2, e4] = [event(d, 1), event(d, 2), event(d, 4)];
      await store.insertEvents([e1, e2, e4]);
      assert.deepEqual(await store.chainNeighbours(d.id, randomUUID(), 3), {
        sameId: undefined,
        sameSeq: undefined,
        previous: { hash: e2.envelopeHash },
        next: { prev: e4.prevHash },
        highestSeq: 4,
      });
      const again = await store.chainNeighbours(d.id, e2.eventId, 2);
      assert.deepEqual(again.sameId, { seq: 2, hash: e2.envelopeHash });
      assert.deepEqual(again.sameSeq, { id: e2.eventId });
      assert.deepEqual(again.previous, { hash: e1.envelopeHash });
      await rejectsWith(store.chainNeighbours('ghost', randomUUID(), 1), HubErrorCode.storeDeviceUnknown);

      // Each transaction reads the head and appends right after it: without the lock two would pick the
      // same seq and one would fail.
      const d2 = await device(s.id);
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction(async (tx) => {
            const around = await tx.chainNeighbours(d2.id, randomUUID(), 1);
            return tx.insertEvent(event(d2, around.highestSeq + 1));
          }),
        ),
      );
      const seqs = (await store.listEvents({ deviceId: d2.id, order: 'asc' })).map((e) => e.deviceSeq);
      assert.deepEqual(
        seqs.sort((a, b) => a - b),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });

    test('hub core: chainNeighboursMany answers as chainNeighbours does, for many events at once', async () => {
      const s = await site();
      const [d1, d2] = [await device(s.id), await device(s.id)];
      const stored = [event(d1, 1), event(d1, 2), event(d1, 4), event(d2, 7)];
      await store.insertEvents(stored);
      const asked = [
        { deviceId: d1.id, eventId: randomUUID(), seq: 3 },
        { deviceId: d1.id, eventId: stored[1]!.eventId, seq: 2 },
        { deviceId: d2.id, eventId: randomUUID(), seq: 8 },
        { deviceId: d1.id, eventId: stored[3]!.eventId, seq: 9 },
        { deviceId: d2.id, eventId: randomUUID(), seq: 1 },
      ];
      const many = await store.chainNeighboursMany(asked);
      const one = [];
      for (const a of asked) one.push(await store.chainNeighbours(a.deviceId, a.eventId, a.seq));
      assert.deepEqual(many, one);
      assert.deepEqual(many[0], {
        sameId: undefined,
        sameSeq: undefined,
        previous: { hash: stored[1]!.envelopeHash },
        next: { prev: stored[2]!.prevHash },
        highestSeq: 4,
      });
      assert.deepEqual(many[3]?.sameId, { seq: 7, hash: stored[3]!.envelopeHash });
      assert.deepEqual(await store.chainNeighboursMany([]), []);
      await rejectsWith(
        store.chainNeighboursMany([{ deviceId: 'ghost', eventId: randomUUID(), seq: 1 }]),
        HubErrorCode.storeDeviceUnknown,
      );
    });

    test('listEvents filters, orders and pages; countEvents counts per kind; countStoredSeqs per seq range', async () => {
      const s = await site();
      const d = await device(s.id);
      const t0 = Date.UTC(2026, 1, 1, 9);
      const events = [
        event(d, 1, { capturedAt: t0, cameraId: 'door-a', personId: 'p1' }),
        event(d, 2, { capturedAt: t0 + 1000, cameraId: 'door-b', personId: 'p2' }),
        event(d, 3, { capturedAt: t0 + 1000, cameraId: 'door-a', personId: null, kind: 'unknown' }),
        event(d, 4, { capturedAt: t0 + 1000, cameraId: 'door-b', personId: 'p1', kind: 'spoof' }),
        event(d, 5, { capturedAt: t0 + 2000, cameraId: 'door-a', personId: 'p1' }),
        event(d, 6, { capturedAt: t0 + 3000, cameraId: 'door-c', personId: 'p2' }),
      ];
      await store.insertEvents(events);
      const ids = (list: StoredEvent[]) => list.map((e) => e.deviceSeq);
      assert.deepEqual(ids(await store.listEvents({ siteId: s.id, order: 'asc' })).slice(0, 1), [1]);
      assert.deepEqual(
        ids(await store.listEvents({ siteId: s.id, personId: 'p1' })),
        [5, 4, 1].sort((a, b) => b - a),
      );
      assert.deepEqual(
        ids(await store.listEvents({ siteId: s.id, cameraIds: ['door-b', 'door-c'] })).sort(),
        [2, 4, 6],
      );
      assert.deepEqual(
        ids(await store.listEvents({ siteId: s.id, kinds: ['unknown', 'spoof'] })).sort(),
        [3, 4],
      );
      assert.deepEqual(
        ids(await store.listEvents({ siteId: s.id, from: t0 + 1000, to: t0 + 3000 })).sort(),
        [2, 3, 4, 5],
      );
      assert.deepEqual(await store.listEvents({ siteId: s.id, cameraIds: [] }), []);

      for (const order of ['asc', 'desc'] as const) {
        const all = await store.listEvents({ siteId: s.id, order });
        const paged: StoredEvent[] = [];
        let page = await store.listEvents({ siteId: s.id, order, limit: 2 });
        while (page.length > 0) {
          paged.push(...page);
          const last = page.at(-1)!;
          page = await store.listEvents({ siteId: s.id, order, limit: 2, after: last });
        }
        assert.deepEqual(paged, all);
        assert.equal(all.length, 6);
        const times = all.map((e) => e.capturedAt);
        const sorted = [...times].sort((a, b) => (order === 'asc' ? a - b : b - a));
        assert.deepEqual(times, sorted);
      }
      assert.deepEqual(await store.countEvents({ siteId: s.id }), { attendance: 4, unknown: 1, spoof: 1 });
      assert.deepEqual(await store.countEvents({ siteId: s.id, cameraIds: ['door-a'], from: t0 + 500 }), {
        attendance: 1,
        unknown: 1,
        spoof: 0,
      });
      await store.insertEvents([event(d, 9)]);
      assert.deepEqual(
        [
          await store.countStoredSeqs(d.id, 1, 9),
          await store.countStoredSeqs(d.id, 6, 8),
          await store.countStoredSeqs(d.id, 7, 8),
        ],
        [7, 1, 0],
      );
    });

    test('attendance: first-in / last-out per person per site-local day, across a DST change', async () => {
      // 2026-03-08 is a 23-hour day in New York: it runs from 05:00Z to 04:00Z the next day.
      const s = await site('America/New_York');
      const other = await site();
      const d = await device(s.id);
      const dOther = await device(other.id);
      const ada = await store.createPerson({ displayName: 'Ada', siteIds: [s.id], groups: ['staff'] });
      const bob = await store.createPerson({ displayName: 'Bob', siteIds: [s.id], groups: ['visitors'] });
      const at = (iso: string) => Date.parse(iso);
      let seq = 0;
      const pass = (personId: string, iso: string, cameraId: string, direction: 'in' | 'out' | null) =>
        event(d, ++seq, { personId, capturedAt: at(iso), cameraId, direction });
      await store.insertEvents([
        pass(ada.id, '2026-03-08T04:30:00.000Z', 'door-a', 'in'), // 23:30 on the 7th, local
        pass(ada.id, '2026-03-08T13:00:00.000Z', 'door-a', 'in'),
        pass(ada.id, '2026-03-08T22:00:00.000Z', 'door-b', 'out'),
        pass(ada.id, '2026-03-09T03:30:00.000Z', 'door-c', null), // 23:30 on the 8th (EDT)
        pass(ada.id, '2026-03-09T04:30:00.000Z', 'door-a', 'in'), // 00:30 on the 9th
        pass(bob.id, '2026-03-08T14:00:00.000Z', 'door-b', 'out'),
        event(d, ++seq, { kind: 'unknown', personId: null, capturedAt: at('2026-03-08T15:00:00.000Z') }),
        event(d, ++seq, { kind: 'spoof', personId: bob.id, capturedAt: at('2026-03-08T16:00:00.000Z') }),
      ]);
      await store.insertEvent(
        event(dOther, 1, { personId: ada.id, capturedAt: at('2026-03-08T12:00:00.000Z') }),
      );

      const rows = await store.attendance({ siteId: s.id, from: '2026-03-08', to: '2026-03-09' });
      const expected = [
        {
          date: '2026-03-08',
          siteId: s.id,
          personId: ada.id,
          passes: 3,
          firstInAt: at('2026-03-08T13:00:00.000Z'),
          firstInCameraId: 'door-a',
          lastOutAt: at('2026-03-09T03:30:00.000Z'),
          lastOutCameraId: 'door-c',
          lastSeenAt: at('2026-03-09T03:30:00.000Z'),
          lastCameraId: 'door-c',
        },
        {
          date: '2026-03-08',
          siteId: s.id,
          personId: bob.id,
          passes: 1,
          firstInAt: null,
          firstInCameraId: null,
          lastOutAt: at('2026-03-08T14:00:00.000Z'),
          lastOutCameraId: 'door-b',
          lastSeenAt: at('2026-03-08T14:00:00.000Z'),
          lastCameraId: 'door-b',
        },
      ].sort((a, b) => (a.personId < b.personId ? -1 : 1));
      assert.deepEqual(rows, [
        ...expected,
        {
          date: '2026-03-09',
          siteId: s.id,
          personId: ada.id,
          passes: 1,
          firstInAt: at('2026-03-09T04:30:00.000Z'),
          firstInCameraId: 'door-a',
          lastOutAt: null,
          lastOutCameraId: null,
          lastSeenAt: at('2026-03-09T04:30:00.000Z'),
          lastCameraId: 'door-a',
        },
      ]);
      const doorA = await store.attendance({
        siteId: s.id,
        from: '2026-03-08',
        to: '2026-03-08',
        cameraIds: ['door-a'],
      });
      assert.deepEqual(
        doorA.map((r) => [r.personId, r.passes, r.lastOutAt]),
        [[ada.id, 1, null]],
      );
      const visitors = await store.attendance({
        siteId: s.id,
        from: '2026-03-07',
        to: '2026-03-09',
        group: 'visitors',
      });
      assert.deepEqual(
        visitors.map((r) => [r.date, r.personId]),
        [['2026-03-08', bob.id]],
      );
      const adaOnly = await store.attendance({
        siteId: s.id,
        from: '2026-03-07',
        to: '2026-03-07',
        personId: ada.id,
      });
      assert.deepEqual(
        adaOnly.map((r) => [r.date, r.firstInAt]),
        [['2026-03-07', at('2026-03-08T04:30:00.000Z')]],
      );
      assert.deepEqual(
        await store.attendance({ siteId: s.id, from: '2026-03-08', to: '2026-03-08', cameraIds: [] }),
        [],
      );
      await rejectsWith(
        store.attendance({ siteId: 'no-such-site', from: '2026-03-08', to: '2026-03-08' }),
        HubErrorCode.storeSiteUnknown,
      );
      await rejectsWith(
        store.attendance({ siteId: s.id, from: '2026-03-09', to: '2026-03-08' }),
        HubErrorCode.storeDateInvalid,
      );
      await rejectsWith(
        store.attendance({ siteId: s.id, from: '2026-02-30', to: '2026-03-08' }),
        HubErrorCode.storeDateInvalid,
      );
    });

    test('alerts: add, filter, acknowledge, resolve', async () => {
      const s = await site();
      const d = await device(s.id);
      const gap = await store.addAlert({
        kind: 'sequence_gap',
        siteId: s.id,
        deviceId: d.id,
        details: { missingFrom: 4, missingTo: 6 },
      });
      assert.deepEqual(gap, {
        id: gap.id,
        kind: 'sequence_gap',
        siteId: s.id,
        deviceId: d.id,
        details: { missingFrom: 4, missingTo: 6 },
        createdAt: now,
        acknowledgedAt: null,
        acknowledgedBy: null,
        resolvedAt: null,
        resolution: null,
      });
      const stranger = await store.addAlert({
        kind: 'unknown_device',
        siteId: null,
        deviceId: null,
        details: {},
      });
      const lag = await store.addAlert({
        kind: 'sync_lag',
        siteId: s.id,
        deviceId: d.id,
        details: { behind: 40 },
      });
      assert.ok(lag.id > gap.id);
      assert.deepEqual(
        (await store.listAlerts({ deviceId: d.id })).map((a) => a.id),
        [lag.id, gap.id],
      );
      assert.deepEqual(
        (await store.listAlerts({ siteId: s.id, kinds: ['sync_lag'] })).map((a) => a.id),
        [lag.id],
      );
      assert.deepEqual(await store.listAlerts({ kinds: [] }), []);
      assert.deepEqual(
        (await store.listAlerts({ beforeId: lag.id, limit: 2 })).map((a) => a.id),
        [stranger.id, gap.id],
      );
      now += 1000;
      const acked = await store.acknowledgeAlert(gap.id, 'alice');
      assert.equal(acked.acknowledgedAt, now);
      assert.equal(acked.acknowledgedBy, 'alice');
      now += 1000;
      assert.equal((await store.acknowledgeAlert(gap.id, 'bob')).acknowledgedBy, 'alice');
      assert.deepEqual(
        (await store.listAlerts({ deviceId: d.id, unacknowledgedOnly: true })).map((a) => a.id),
        [lag.id],
      );
      await rejectsWith(store.acknowledgeAlert(999_999_999, 'alice'), HubErrorCode.storeAlertUnknown);
      now += 1000;
      const resolved = await store.resolveAlert(lag.id, 'caught up');
      assert.deepEqual([resolved.resolvedAt, resolved.resolution], [now, 'caught up']);
      assert.equal(resolved.acknowledgedAt, null);
      now += 1000;
      assert.equal((await store.resolveAlert(lag.id, 'again')).resolvedAt, now - 1000);
      assert.deepEqual(await store.listAlerts({ deviceId: d.id, unresolvedOnly: true }), [
        { ...gap, acknowledgedAt: acked.acknowledgedAt, acknowledgedBy: 'alice' },
      ]);
      await rejectsWith(store.resolveAlert(999_999_999, 'x'), HubErrorCode.storeAlertUnknown);
    });

    test('people: create, find, list, update; external ids unique among people not erased', async () => {
      const s1 = await site();
      const s2 = await site();
      const hr = uid('HR');
      const ada = await store.createPerson({
        displayName: 'Ada Lovelace',
        externalId: hr,
        groups: ['staff', 'engineering', 'staff'],
        siteIds: [s2.id, s1.id],
      });
      assert.deepEqual(ada, {
        id: ada.id,
        displayName: 'Ada Lovelace',
        externalId: hr,
        groups: ['engineering', 'staff'],
        siteIds: [s1.id, s2.id].sort(),
        createdAt: now,
        updatedAt: now,
        erasedAt: null,
      });
      assert.deepEqual(await store.getPerson(ada.id), ada);
      assert.equal(await store.getPerson(randomUUID()), undefined);
      assert.deepEqual(await store.getPersonByExternalId(hr), ada);
      assert.equal(await store.getPersonByExternalId('nobody'), undefined);
      await rejectsWith(
        store.createPerson({ displayName: 'Copy', externalId: hr }),
        HubErrorCode.storeExternalIdTaken,
      );
      await rejectsWith(
        store.createPerson({ displayName: 'Lost', siteIds: ['no-such-site'] }),
        HubErrorCode.storeSiteUnknown,
      );

      const grace = await store.createPerson({
        displayName: 'Grace 100%_Hopper',
        siteIds: [s1.id],
        groups: ['staff'],
      });
      const names = async (filter: Parameters<HubStore['listPeople']>[0]) =>
        (await store.listPeople(filter)).map((p) => p.displayName);
      assert.deepEqual(await names({ siteId: s1.id }), ['Ada Lovelace', 'Grace 100%_Hopper']);
      assert.deepEqual(await names({ siteId: s2.id }), ['Ada Lovelace']);
      assert.deepEqual(await names({ siteId: s1.id, group: 'engineering' }), ['Ada Lovelace']);
      assert.deepEqual(await names({ siteId: s1.id, search: 'LOVE' }), ['Ada Lovelace']);
      assert.deepEqual(await names({ siteId: s1.id, search: hr.toLowerCase() }), ['Ada Lovelace']);
      assert.deepEqual(await names({ siteId: s1.id, search: '0%_h' }), ['Grace 100%_Hopper']);
      assert.deepEqual(await names({ siteId: s1.id, search: '%' }), ['Grace 100%_Hopper']);
      assert.deepEqual(await names({ siteId: s1.id, limit: 1, offset: 1 }), ['Grace 100%_Hopper']);
      assert.ok((await store.listPeople()).length >= 2);

      now += 1000;
      const moved = await store.updatePerson(grace.id, {
        displayName: 'Grace Hopper',
        externalId: uid('HR'),
        groups: ['navy'],
        siteIds: [s2.id],
      });
      assert.equal(moved.displayName, 'Grace Hopper');
      assert.deepEqual(moved.groups, ['navy']);
      assert.deepEqual(moved.siteIds, [s2.id]);
      assert.equal(moved.updatedAt, now);
      assert.equal(moved.createdAt, grace.createdAt);
      const same = await store.updatePerson(grace.id, { displayName: 'G. Hopper' });
      assert.deepEqual(same.groups, ['navy'], 'groups not in the patch stay');
      assert.equal(same.externalId, moved.externalId);
      await rejectsWith(store.updatePerson(grace.id, { externalId: hr }), HubErrorCode.storeExternalIdTaken);
      await rejectsWith(
        store.updatePerson(grace.id, { siteIds: ['no-such-site'] }),
        HubErrorCode.storeSiteUnknown,
      );
      await rejectsWith(
        store.updatePerson(randomUUID(), { displayName: 'x' }),
        HubErrorCode.storePersonUnknown,
      );
      assert.equal(
        (await store.updatePerson(ada.id, { externalId: hr })).externalId,
        hr,
        'keeping its own id is fine',
      );
    });

    test('consent rule: no template or photo without an active consent or legal-basis record', async () => {
      const s = await site();
      const person = await store.createPerson({ displayName: 'Alan Turing', siteIds: [s.id] });
      const template = {
        personId: person.id,
        modelPackVersion: 'default-1.0.0',
        template: new Uint8Array([1, 2, 3]),
        quality: 0.9,
      };
      await rejectsWith(store.addTemplate(template), HubErrorCode.storeConsentMissing);
      await rejectsWith(
        store.addPhoto({ personId: person.id, contentType: 'image/jpeg', photo: Buffer.from('jpeg') }),
        HubErrorCode.storeConsentMissing,
      );
      assert.deepEqual(await store.listTemplates({ personId: person.id }), []);

      const consent = await store.recordConsent({
        personId: person.id,
        legalBasis: 'legal_obligation',
        noticeVersion: 'works-agreement-7',
        noticeText: 'Attendance is recorded by face recognition at the gates.',
        recordedBy: 'hr-officer',
      });
      assert.deepEqual(consent, {
        id: consent.id,
        personId: person.id,
        legalBasis: 'legal_obligation',
        noticeVersion: 'works-agreement-7',
        noticeText: 'Attendance is recorded by face recognition at the gates.',
        recordedBy: 'hr-officer',
        recordedAt: now,
        withdrawnAt: null,
        withdrawnBy: null,
      });
      const stored = await store.addTemplate(template);
      assert.deepEqual(stored, {
        id: stored.id,
        personId: person.id,
        modelPackVersion: 'default-1.0.0',
        template: Buffer.from([1, 2, 3]),
        quality: 0.9,
        createdAt: now,
      });
      const other = await store.addTemplate({
        ...template,
        modelPackVersion: 'other-2',
        template: Buffer.alloc(2048, 7),
      });
      assert.deepEqual(
        (await store.listTemplates({ personId: person.id })).map((t) => t.id),
        [stored.id, other.id].sort(),
      );
      assert.deepEqual(
        (await store.listTemplates({ siteId: s.id, modelPackVersion: 'other-2' })).map(
          (t) => t.template.length,
        ),
        [2048],
      );
      assert.ok((await store.listTemplates()).length >= 2);
      await store.deleteTemplate(other.id);
      await rejectsWith(store.deleteTemplate(other.id), HubErrorCode.storeTemplateUnknown);

      const photo = await store.addPhoto({
        personId: person.id,
        contentType: 'image/png',
        photo: new Uint8Array([137, 80]),
      });
      assert.deepEqual(await store.getPhoto(photo.id), { ...photo, photo: Buffer.from([137, 80]) });
      assert.deepEqual(
        (await store.listPhotos(person.id)).map((p) => p.id),
        [photo.id],
      );
      await store.deletePhoto(photo.id);
      assert.equal(await store.getPhoto(photo.id), undefined);
      await rejectsWith(store.deletePhoto(photo.id), HubErrorCode.storePhotoUnknown);

      now += 1000;
      const withdrawn = await store.withdrawConsent(consent.id, 'the person');
      assert.equal(withdrawn.withdrawnAt, now);
      assert.equal(withdrawn.withdrawnBy, 'the person');
      await rejectsWith(store.addTemplate(template), HubErrorCode.storeConsentMissing);
      assert.deepEqual(
        (await store.listConsents(person.id)).map((c) => c.withdrawnAt),
        [now],
      );
      await rejectsWith(store.withdrawConsent(randomUUID(), 'x'), HubErrorCode.storeConsentUnknown);
      await rejectsWith(
        store.recordConsent({
          personId: randomUUID(),
          legalBasis: 'consent',
          noticeVersion: 'v1',
          recordedBy: 'x',
        }),
        HubErrorCode.storePersonUnknown,
      );
      await rejectsWith(
        store.addTemplate({ ...template, personId: randomUUID() }),
        HubErrorCode.storePersonUnknown,
      );
    });

    test('roster: seqs are allocated per site without gaps; failures consume none', async () => {
      const s = await site();
      const s2 = await site();
      const person = await consentingPerson([s.id]);
      const seen: RosterChangeHeader[] = [];
      const first = await store.appendRosterChange({
        siteId: s.id,
        kind: 'enrol',
        personId: person.id,
        seal: sealer(seen),
      });
      assert.deepEqual(first, {
        siteId: s.id,
        seq: 1,
        kind: 'enrol',
        personId: person.id,
        createdAt: now,
        payload: Buffer.from(`sealed:${s.id}:1:enrol`),
        purgedAt: null,
      });
      assert.deepEqual(seen, [{ siteId: s.id, seq: 1, kind: 'enrol', personId: person.id, createdAt: now }]);
      await rejectsWith(
        store.appendRosterChange({ siteId: s.id, kind: 'update', personId: randomUUID(), seal: sealer() }),
        HubErrorCode.storePersonUnknown,
      );
      await rejectsWith(
        store.appendRosterChange({
          siteId: 'no-such-site',
          kind: 'update',
          personId: person.id,
          seal: sealer(),
        }),
        HubErrorCode.storeSiteUnknown,
      );
      const second = await store.appendRosterChange({
        siteId: s.id,
        kind: 'update',
        personId: person.id,
        seal: sealer(),
      });
      assert.equal(second.seq, 2, 'failed appends left no gap');
      assert.equal(
        (
          await store.appendRosterChange({
            siteId: s2.id,
            kind: 'enrol',
            personId: person.id,
            seal: sealer(),
          })
        ).seq,
        1,
      );
      assert.equal((await store.getSite(s.id))?.rosterSeq, 2);

      for (let i = 0; i < 5; i++) {
        await store.appendRosterChange({ siteId: s.id, kind: 'update', personId: person.id, seal: sealer() });
      }
      assert.deepEqual(
        (await store.rosterChangesAfter(s.id, 0, 3)).map((c) => c.seq),
        [1, 2, 3],
      );
      assert.deepEqual(
        (await store.rosterChangesAfter(s.id, 3, 100)).map((c) => c.seq),
        [4, 5, 6, 7],
      );
      assert.deepEqual(await store.rosterChangesAfter(s.id, 7, 100), []);
    });

    test('roster: a sealer that throws rolls the allocation back', async () => {
      const s = await site();
      const person = await consentingPerson([s.id]);
      await assert.rejects(
        store.appendRosterChange({
          siteId: s.id,
          kind: 'enrol',
          personId: person.id,
          seal: () => Promise.reject(new Error('site key missing')),
        }),
        /site key missing/,
      );
      assert.equal((await store.getSite(s.id))?.rosterSeq, 0);
      const change = await store.appendRosterChange({
        siteId: s.id,
        kind: 'enrol',
        personId: person.id,
        seal: sealer(),
      });
      assert.equal(change.seq, 1);
    });

    test('roster: 50 parallel appends, from two stores on one database, get 1..50', async () => {
      const s = await site();
      const person = await consentingPerson([s.id]);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.appendRosterChange({
            siteId: s.id,
            kind: i === 0 ? 'enrol' : 'update',
            personId: person.id,
            seal: async (header) => {
              await new Promise((resolve) => setImmediate(resolve));
              return Buffer.from(String(header.seq));
            },
          }),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.seq).sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      const stored = await store.rosterChangesAfter(s.id, 0, 1000);
      assert.deepEqual(
        stored.map((c) => [c.seq, c.payload?.toString()]),
        Array.from({ length: 50 }, (_, i) => [i + 1, String(i + 1)]),
      );

      const second = harness.open({ now: clock });
      await second.start();
      try {
        for (let i = 0; i < 4; i++) {
          const writer = i % 2 === 0 ? store : second;
          const change = await writer.appendRosterChange({
            siteId: s.id,
            kind: 'update',
            personId: person.id,
            seal: sealer(),
          });
          assert.equal(change.seq, 51 + i);
        }
      } finally {
        await second.stop();
      }
    });

    test('erasure: one transaction removes face data, purges payloads, appends erase changes', async () => {
      const s1 = await site();
      const s2 = await site();
      const d1 = await device(s1.id);
      const d2 = await device(s2.id);
      const d3 = await device(s2.id);
      const retired = await device(s2.id);
      await store.revokeDevice(retired.id);
      const hr = uid('HR');
      const person = await store.createPerson({
        displayName: 'Erin',
        externalId: hr,
        siteIds: [s1.id, s2.id],
      });
      await store.recordConsent({
        personId: person.id,
        legalBasis: 'consent',
        noticeVersion: 'v1',
        recordedBy: 'admin',
      });
      await store.addTemplate({
        personId: person.id,
        modelPackVersion: 'm1',
        template: Buffer.from('t1'),
        quality: 0.8,
      });
      await store.addTemplate({
        personId: person.id,
        modelPackVersion: 'm1',
        template: Buffer.from('t2'),
        quality: 0.7,
      });
      await store.addPhoto({ personId: person.id, contentType: 'image/jpeg', photo: Buffer.from('photo') });
      for (const siteId of [s1.id, s2.id]) {
        await store.appendRosterChange({ siteId, kind: 'enrol', personId: person.id, seal: sealer() });
      }
      const bystander = await consentingPerson([s1.id]);
      await store.addTemplate({
        personId: bystander.id,
        modelPackVersion: 'm1',
        template: Buffer.from('b'),
        quality: 0.8,
      });
      await store.appendRosterChange({
        siteId: s1.id,
        kind: 'enrol',
        personId: bystander.id,
        seal: sealer(),
      });

      assert.deepEqual(await store.erasureStatus(person.id), {
        personId: person.id,
        erasedAt: null,
        devices: [],
        complete: false,
      });
      // A sealer failing on the second site leaves everything as it was.
      let calls = 0;
      await assert.rejects(
        store.erasePerson(person.id, {
          by: 'admin',
          seal: (header) => {
            if (++calls === 2) throw new Error('no key for site');
            return sealer()(header);
          },
        }),
        /no key for site/,
      );
      assert.equal((await store.listTemplates({ personId: person.id })).length, 2);
      assert.equal((await store.getPerson(person.id))?.erasedAt, null);
      assert.equal(
        (await store.rosterChangesAfter(s1.id, 0, 10))[0]?.payload?.length,
        `sealed:${s1.id}:1:enrol`.length,
      );

      now += 1000;
      const seen: RosterChangeHeader[] = [];
      const result = await store.erasePerson(person.id, { by: 'dpo', seal: sealer(seen) });
      assert.equal(result.person.erasedAt, now);
      assert.equal(result.templatesDeleted, 2);
      assert.equal(result.photosDeleted, 1);
      assert.equal(result.changesPurged, 2);
      assert.deepEqual(
        result.changes.map((c) => [c.siteId, c.seq, c.kind]),
        [
          [s1.id, 3, 'erase'],
          [s2.id, 2, 'erase'],
        ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
      );
      assert.deepEqual(
        seen.map((h) => [h.siteId, h.seq, h.kind]),
        [
          ...[
            [s1.id, 1, 'erase'],
            [s2.id, 1, 'erase'],
          ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
          ...result.changes.map((c) => [c.siteId, c.seq, 'erase']),
        ],
        'earlier changes are re-sealed as erasures, then one erase per site is appended',
      );
      assert.deepEqual(await store.listTemplates({ personId: person.id }), []);
      assert.deepEqual(await store.listPhotos(person.id), []);
      assert.deepEqual(
        (await store.listConsents(person.id)).map((c) => [c.withdrawnAt, c.withdrawnBy]),
        [[now, 'dpo']],
      );
      const log = await store.rosterChangesAfter(s1.id, 0, 10);
      assert.deepEqual(
        log.map((c) => [c.seq, c.kind, c.personId === person.id, c.payload.toString(), c.purgedAt]),
        [
          [1, 'erase', true, `sealed:${s1.id}:1:erase`, now],
          [2, 'enrol', false, `sealed:${s1.id}:2:enrol`, null],
          [3, 'erase', true, `sealed:${s1.id}:3:erase`, null],
        ],
      );
      assert.equal(
        (await store.listTemplates({ personId: bystander.id })).length,
        1,
        'others keep their data',
      );
      assert.equal(await store.getPersonByExternalId(hr), undefined);
      assert.deepEqual(
        (await store.listPeople({ siteId: s1.id, includeErased: true })).map((p) => p.id).includes(person.id),
        true,
      );
      assert.equal(
        (await store.listPeople({ siteId: s1.id })).some((p) => p.id === person.id),
        false,
      );
      const again = await store.createPerson({ displayName: 'Erin', externalId: hr });
      assert.notEqual(again.id, person.id);
      await rejectsWith(
        store.erasePerson(person.id, { by: 'dpo', seal: sealer() }),
        HubErrorCode.storePersonErased,
      );
      await rejectsWith(
        store.addTemplate({
          personId: person.id,
          modelPackVersion: 'm1',
          template: Buffer.from('x'),
          quality: null,
        }),
        HubErrorCode.storePersonErased,
      );
      await rejectsWith(
        store.recordConsent({
          personId: person.id,
          legalBasis: 'consent',
          noticeVersion: 'v2',
          recordedBy: 'x',
        }),
        HubErrorCode.storePersonErased,
      );
      await rejectsWith(store.updatePerson(person.id, { displayName: 'x' }), HubErrorCode.storePersonErased);
      await rejectsWith(
        store.appendRosterChange({ siteId: s1.id, kind: 'enrol', personId: person.id, seal: sealer() }),
        HubErrorCode.storePersonErased,
      );
      await rejectsWith(
        store.erasePerson(randomUUID(), { by: 'dpo', seal: sealer() }),
        HubErrorCode.storePersonUnknown,
      );

      // Confirmation comes from each device's applied roster seq.
      await store.recordDeviceStatus(d1.id, { online: true, rosterSeqApplied: 3 });
      await store.recordDeviceStatus(d2.id, { online: true, rosterSeqApplied: 1 });
      const pending = await store.erasureStatus(person.id);
      assert.deepEqual(
        pending.devices,
        [
          { siteId: s1.id, seq: 3, deviceId: d1.id, rosterSeqApplied: 3, confirmed: true },
          { siteId: s2.id, seq: 2, deviceId: d2.id, rosterSeqApplied: 1, confirmed: false },
          { siteId: s2.id, seq: 2, deviceId: d3.id, rosterSeqApplied: null, confirmed: false },
        ].sort((a, b) => a.siteId.localeCompare(b.siteId) || a.deviceId.localeCompare(b.deviceId)),
      );
      assert.equal(pending.complete, false);
      await store.recordDeviceStatus(d2.id, { online: true, rosterSeqApplied: 2 });
      await store.recordDeviceStatus(d3.id, { online: true, rosterSeqApplied: 5 });
      const done = await store.erasureStatus(person.id);
      assert.equal(done.erasedAt, now);
      assert.equal(done.complete, true);
      await rejectsWith(store.erasureStatus(randomUUID()), HubErrorCode.storePersonUnknown);
    });

    test('erasure: an enrolment racing it waits, then is refused, so no enrol follows the erase', async () => {
      const s = await site();
      const person = await consentingPerson([s.id]);
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let sealing = () => {};
      const locked = new Promise<void>((resolve) => {
        sealing = resolve;
      });
      const erasing = store.erasePerson(person.id, {
        by: 'dpo',
        seal: async (header) => {
          sealing();
          await gate;
          return sealer()(header);
        },
      });
      // The erasure now holds its locks; the enrolment reaches the database while they are held.
      await locked;
      const enrolling = store.appendRosterChange({
        siteId: s.id,
        kind: 'enrol',
        personId: person.id,
        seal: sealer(),
      });
      // Assert at once: the refusal may land before the erasure's own promise settles.
      const refused = rejectsWith(enrolling, HubErrorCode.storePersonErased);
      await new Promise((resolve) => setTimeout(resolve, 50));
      release();
      await erasing;
      await refused;
      assert.deepEqual(
        (await store.rosterChangesAfter(s.id, 0, 10)).map((c) => c.kind),
        ['erase'],
      );
    });

    test('transaction: everything commits together or nothing does', async () => {
      const s = await site();
      const person = await consentingPerson([s.id]);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.addTemplate({
            personId: person.id,
            modelPackVersion: 'm1',
            template: Buffer.from('x'),
            quality: 1,
          });
          await tx.appendRosterChange({ siteId: s.id, kind: 'enrol', personId: person.id, seal: sealer() });
          throw new Error('enrolment aborted');
        }),
        /enrolment aborted/,
      );
      assert.deepEqual(await store.listTemplates({ personId: person.id }), []);
      assert.equal((await store.getSite(s.id))?.rosterSeq, 0);
      const change = await store.transaction(async (tx) => {
        await tx.addTemplate({
          personId: person.id,
          modelPackVersion: 'm1',
          template: Buffer.from('x'),
          quality: 1,
        });
        await tx.appendAudit({ actor: 'admin', action: 'person.enrol', target: person.id });
        return tx.appendRosterChange({ siteId: s.id, kind: 'enrol', personId: person.id, seal: sealer() });
      });
      assert.equal(change.seq, 1);
      assert.equal((await store.listTemplates({ personId: person.id })).length, 1);
    });

    test('users and sessions', async () => {
      const name = uid('user');
      const user = await store.createUser({
        username: name,
        passwordHash: 'scrypt$a',
        role: 'manager',
        siteScope: ['s1', 's1', 's2'],
      });
      assert.deepEqual(user, {
        username: name,
        passwordHash: 'scrypt$a',
        role: 'manager',
        siteScope: ['s1', 's2'],
        createdAt: now,
        updatedAt: now,
      });
      assert.deepEqual(await store.getUser(name), user);
      assert.equal(await store.getUser('nobody'), undefined);
      await rejectsWith(
        store.createUser({ username: name, passwordHash: 'x', role: 'viewer' }),
        HubErrorCode.storeUserExists,
      );
      const admin = await store.createUser({
        username: uid('user'),
        passwordHash: 'scrypt$b',
        role: 'admin',
      });
      assert.equal(admin.siteScope, null);
      assert.ok((await store.listUsers()).some((u) => u.username === admin.username));
      now += 1000;
      const promoted = await store.updateUser(name, {
        role: 'admin',
        siteScope: null,
        passwordHash: 'scrypt$c',
      });
      assert.deepEqual(
        [promoted.role, promoted.siteScope, promoted.passwordHash, promoted.updatedAt],
        ['admin', null, 'scrypt$c', now],
      );
      assert.deepEqual((await store.updateUser(name, { siteScope: ['s3'] })).siteScope, ['s3']);
      await rejectsWith(store.updateUser('nobody', { role: 'viewer' }), HubErrorCode.storeUserUnknown);

      const session = await store.createSession({
        tokenHash: hash(uid('token')),
        username: name,
        csrfHash: hash('csrf'),
        expiresAt: now + 60_000,
      });
      assert.deepEqual(session, {
        tokenHash: session.tokenHash,
        username: name,
        csrfHash: hash('csrf'),
        createdAt: now,
        expiresAt: now + 60_000,
        lastUsedAt: now,
      });
      assert.deepEqual(await store.getSession(session.tokenHash), session);
      await rejectsWith(
        store.createSession({
          tokenHash: hash(uid('token')),
          username: 'nobody',
          csrfHash: 'x',
          expiresAt: now + 1,
        }),
        HubErrorCode.storeUserUnknown,
      );
      now += 50_000;
      await store.touchSession(session.tokenHash, now + 60_000);
      now += 30_000;
      const touched = await store.getSession(session.tokenHash);
      assert.equal(touched?.lastUsedAt, now - 30_000);
      const short = await store.createSession({
        tokenHash: hash(uid('token')),
        username: admin.username,
        csrfHash: 'x',
        expiresAt: now + 10,
      });
      now += 10;
      assert.equal(await store.getSession(short.tokenHash), undefined, 'expired sessions are not returned');
      assert.ok((await store.deleteExpiredSessions()) >= 1);
      await store.deleteSession(session.tokenHash);
      assert.equal(await store.getSession(session.tokenHash), undefined);

      const kept = await store.createSession({
        tokenHash: hash(uid('token')),
        username: name,
        csrfHash: 'x',
        expiresAt: now + 60_000,
      });
      await store.deleteUser(name);
      assert.equal(await store.getUser(name), undefined);
      assert.equal(await store.getSession(kept.tokenHash), undefined, 'deleting a user ends their sessions');
      await rejectsWith(store.deleteUser(name), HubErrorCode.storeUserUnknown);
    });

    test('audit log: append and filter; no way to change it through the store or behind its back', async () => {
      const actor = uid('auditor');
      const first = await store.appendAudit({
        actor,
        action: 'person.create',
        target: 'p-1',
        details: { name: 'Ada' },
      });
      assert.deepEqual(first, {
        id: first.id,
        at: now,
        actor,
        action: 'person.create',
        target: 'p-1',
        details: { name: 'Ada' },
      });
      now += 1000;
      const second = await store.appendAudit({ actor, action: 'device.revoke', target: 'dev-9' });
      const third = await store.appendAudit({ actor, action: 'person.create', target: 'p-2' });
      assert.deepEqual(second.details, {});
      assert.deepEqual(
        (await store.listAudit({ actor })).map((e) => e.id),
        [third.id, second.id, first.id],
      );
      assert.deepEqual(
        (await store.listAudit({ actor, action: 'person.create' })).map((e) => e.target),
        ['p-2', 'p-1'],
      );
      assert.deepEqual(
        (await store.listAudit({ target: 'dev-9' })).map((e) => e.id),
        [second.id],
      );
      assert.deepEqual(
        (await store.listAudit({ actor, from: now, to: now + 1 })).map((e) => e.id),
        [third.id, second.id],
      );
      assert.deepEqual(
        (await store.listAudit({ actor, beforeId: third.id, limit: 1 })).map((e) => e.id),
        [second.id],
      );
      const names = new Set<string>();
      for (let proto: object | null = store; proto; proto = Object.getPrototypeOf(proto)) {
        for (const key of Object.getOwnPropertyNames(proto)) names.add(key);
      }
      assert.deepEqual([...names].filter((n) => /audit/i.test(n)).sort(), ['appendAudit', 'listAudit']);
      await assert.rejects(
        harness.exec(`update audit_log set actor = 'mallory' where id = ${first.id}`),
        /append-only/,
      );
      await assert.rejects(harness.exec(`delete from audit_log where id = ${first.id}`), /append-only/);
      assert.equal((await store.listAudit({ actor })).at(-1)?.actor, actor);
    });

    test('every method of the interface was exercised above', async () => {
      await store.stop();
      await store.start();
      const missing = Object.keys(methods).filter((name) => !called.has(name));
      assert.deepEqual(missing, []);
    });
  });
}
