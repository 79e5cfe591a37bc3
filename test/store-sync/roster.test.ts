// Roster changes through a real broker: catch-up in batches on connect, live enrol then erase (no template
// bytes left in the decrypted cache, no names in the raw files), and tampered, replayed and out-of-order
// payloads refused with the cache unchanged.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  EMBEDDING_DIMENSIONS,
  encodeVector,
  readSecret,
  type SealedRosterChange,
  type TpError,
  topics,
} from '@truepresence/protocol';
import { decryptedCacheImage, templateTraces } from '../../edge-agent/src/cache/forensics.ts';
import { captureLogger } from '../helpers/logs.ts';
import { waitForEvent } from '../helpers/wait.ts';
import { TestPeer } from '../peer/peer.ts';
import { decision, MODEL_PACK, openAgent, provision } from './agent.ts';
import { aedesBroker } from './brokers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-roster-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function unitVector(): Float32Array {
  const raw = randomBytes(EMBEDDING_DIMENSIONS * 4);
  const v = new Float32Array(EMBEDDING_DIMENSIONS);
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = raw.readInt32LE(i * 4) / 2 ** 31;
    norm += v[i]! * v[i]!;
  }
  for (let i = 0; i < v.length; i++) v[i]! /= Math.sqrt(norm);
  return v;
}

const template = (id: string, vector: Float32Array) => ({
  id,
  modelPack: MODEL_PACK,
  vector: encodeVector(vector),
});

describe('roster through the broker', () => {
  it('catches up, enrols, erases everywhere and refuses bad payloads', async () => {
    const broker = await aedesBroker();
    const device = provision(dir, broker.url);
    const peer = new TestPeer({
      url: broker.url,
      site: 'site-a',
      siteKey: device.siteKey,
      hubKey: device.hubKey,
    });
    peer.registerDevice('door-1', device.devicePublicKey);
    await peer.start();
    const seeded = Array.from({ length: 150 }, unitVector);
    for (const [i, vector] of seeded.entries()) {
      await peer.change(
        { kind: 'enrol', personId: `person-${i}`, templates: [template(`t-${i}`, vector)] },
        false,
      );
    }
    const syncRequests: number[] = [];
    peer.on('syncRequest', (r) => syncRequests.push(r.afterSeq));
    const log = captureLogger('info');
    const agent = openAgent(device.setup, true, log.logger);
    const { cache, link } = agent;
    try {
      const order: string[] = [];
      link.rosterSync.once('current', (seq) => order.push(`current ${seq}`));
      const draining = waitForEvent(link, 'draining', () => true, 'the outbox to drain');
      link.start();
      await draining;
      order.push('draining');
      assert.deepEqual(
        order,
        ['current 150', 'draining'],
        'the roster is caught up before the outbox drains',
      );
      assert.deepEqual(syncRequests, [0, 100]);
      assert.equal(cache.searchPeople(seeded[7]!, 1)[0]?.personId, 'person-7');

      // Live enrol, then erase.
      const alice = [unitVector(), unitVector()];
      const applied = (seq: number) =>
        waitForEvent(link.rosterSync, 'applied', (s: number) => s === seq, `roster seq ${seq}`);
      let next = applied(151);
      const aliceEnrol = await peer.change({
        kind: 'enrol',
        personId: 'person-alice',
        templates: [template('alice-1', alice[0]!), template('alice-2', alice[1]!)],
      });
      await next;
      assert.equal(cache.searchPeople(alice[1]!, 1)[0]?.personId, 'person-alice');
      agent.outbox.append({ ...decision(0), personId: 'person-alice' });
      next = applied(152);
      await peer.change({ kind: 'erase', personId: 'person-alice', templates: [] });
      await next;
      assert.notEqual(cache.searchPeople(alice[0]!, 1)[0]?.personId, 'person-alice');
      assert.deepEqual(cache.counts(), { people: 150, templates: 150 });
      await waitForEvent(
        peer,
        'status',
        (s: { status: { rosterSeq?: number } }) => s.status.rosterSeq === 152,
        'the erasure confirmed in the status',
      );

      const storageKey = readSecret({ file: device.setup.storageKeyFile }, {});
      const image = decryptedCacheImage(join(dir, 'cache.db'), storageKey);
      assert.equal(templateTraces(image, alice[0]!), 0, 'no trace of an erased template');
      assert.equal(templateTraces(image, alice[1]!), 0, 'no trace of an erased template');
      assert.ok(templateTraces(image, seeded[7]!) > 0, 'the image shows the templates still enrolled');
      assert.equal(image.includes('person-alice'), false);
      for (const file of ['cache.db', 'outbox.db', 'outbox.db-wal']) {
        const raw = readFileSync(join(dir, file));
        assert.equal(raw.includes('person-alice') || raw.includes('person-7'), false, `${file} shows a name`);
      }

      // Tampered, replayed and out-of-order payloads.
      const rejected: TpError[] = [];
      link.rosterSync.on('rejected', (e) => rejected.push(e));
      const bob = await peer.change(
        { kind: 'enrol', personId: 'person-bob', templates: [template('bob-1', unitVector())] },
        false,
      );
      const tampered: SealedRosterChange = {
        ...bob,
        ciphertext: `${bob.ciphertext.startsWith('A') ? 'B' : 'A'}${bob.ciphertext.slice(1)}`,
      };
      const rejection = waitForEvent(link.rosterSync, 'rejected', () => true, 'the tampered change refused');
      await peer.publish(topics.roster('site-a'), JSON.stringify(tampered));
      await rejection;
      assert.equal(cache.appliedRosterSeq(), 152);
      await peer.publish(topics.roster('site-a'), JSON.stringify(aliceEnrol));
      next = applied(154);
      await peer.change({
        kind: 'enrol',
        personId: 'person-carol',
        templates: [template('carol-1', unitVector())],
      });
      await next;
      assert.deepEqual(syncRequests.slice(2), [152], 'the gap before 154 was fetched by a sync');
      assert.deepEqual(cache.counts(), { people: 152, templates: 152 });
      assert.notEqual(
        cache.searchPeople(alice[0]!, 1)[0]?.personId,
        'person-alice',
        'the replayed enrol was ignored',
      );
      assert.deepEqual(
        rejected.map((e) => [e.code, e.details.reason]),
        [['TP_AGENT_ROSTER_REJECTED', 'TP_PROTO_ROSTER_SIGNATURE_BAD']],
      );
      assert.ok(log.lines.some((l) => l.includes('"level":50') && l.includes('TP_AGENT_ROSTER_REJECTED')));
    } finally {
      await agent.close();
      await peer.stop();
      await broker.stop();
    }
  });
});
