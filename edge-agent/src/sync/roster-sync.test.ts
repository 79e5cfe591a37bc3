import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import {
  EMBEDDING_DIMENSIONS,
  encodeVector,
  generateEd25519KeyPair,
  PROTOCOL_VERSION,
  type RosterChange,
  type SealedRosterChange,
  type SyncRequest,
  type SyncResponse,
  sealRosterChange,
  type TpError,
} from '@truepresence/protocol';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { waitForEvent } from '../../../test/helpers/wait.ts';
import { VectorCache } from '../cache/vector-cache.ts';
import type { RosterSyncConfig } from './config.ts';
import { RosterSync } from './roster-sync.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-roster-sync-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const site = 'site-a';
const modelPack = 'pack-1';
const siteKey = { id: 'site-key-1', key: randomBytes(32) };
const hubKey = { id: 'hub-key-1', privateKey: generateEd25519KeyPair().privateKey };
const hubPublicKey = createPublicKey(hubKey.privateKey);
const keys = {
  site,
  siteKeys: (id: string) => (id === siteKey.id ? siteKey.key : undefined),
  hubPublicKeys: (id: string) => (id === hubKey.id ? hubPublicKey : undefined),
};

const config: RosterSyncConfig = { timeoutMs: 200, batch: 100, retry: { initialMs: 10, maxMs: 20 } };

function unitVector(seed: number): Float32Array {
  const v = new Float32Array(EMBEDDING_DIMENSIONS);
  let x = seed * 2654435761;
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    v[i] = x / 2147483648 - 0.5;
    norm += v[i]! * v[i]!;
  }
  for (let i = 0; i < v.length; i++) v[i]! /= Math.sqrt(norm);
  return v;
}

function change(seq: number, kind: RosterChange['kind'], personId: string): RosterChange {
  return {
    v: PROTOCOL_VERSION,
    site,
    seq,
    kind,
    personId,
    templates:
      kind === 'erase' ? [] : [{ id: `${personId}-t1`, modelPack, vector: encodeVector(unitVector(seq)) }],
    issuedAt: new Date().toISOString(),
  };
}

function seal(c: RosterChange, signer = hubKey, key = siteKey): SealedRosterChange {
  return sealRosterChange(c, key, signer);
}

const wire = (sealed: SealedRosterChange) => Buffer.from(JSON.stringify(sealed));

let cache: VectorCache;
let sync: RosterSync;
let requests: SyncRequest[];
let consumed: number;
const hub = new EventEmitter();
let rejected: TpError[];
let stalled: TpError[];
let files = 0;

beforeEach(() => {
  cache = VectorCache.open({
    config: { path: join(dir, `cache-${++files}.db`), pageCacheMiB: 8 },
    key: randomBytes(32),
    modelPack,
    create: true,
    logger: captureLogger().logger,
  });
  sync = new RosterSync(cache, keys, config, captureLogger().logger);
  requests = [];
  consumed = 0;
  rejected = [];
  stalled = [];
  sync.on('rejected', (e) => rejected.push(e));
  sync.on('stalled', (e) => stalled.push(e));
});

afterEach(() => {
  sync.offline();
  cache.close();
});

function respond(
  request: SyncRequest,
  changes: SealedRosterChange[],
  more: boolean,
  currentSeq: number,
): Buffer {
  const response: SyncResponse = {
    v: PROTOCOL_VERSION,
    requestId: request.requestId,
    changes,
    currentSeq,
    more,
  };
  return Buffer.from(JSON.stringify(response));
}

function send(request: SyncRequest): void {
  requests.push(request);
  hub.emit('request');
}

/** The next sync request the agent sent that the test has not looked at yet. */
async function nextRequest(): Promise<SyncRequest> {
  if (requests.length <= consumed) await waitForEvent(hub, 'request', () => true, 'a sync request');
  return requests[consumed++]!;
}

describe('RosterSync', () => {
  it('applies live changes in order and ignores a replay', () => {
    const one = wire(seal(change(1, 'enrol', 'alice')));
    sync.handleLive(one);
    sync.handleLive(wire(seal(change(2, 'enrol', 'bob'))));
    assert.equal(cache.appliedRosterSeq(), 2);
    assert.equal(cache.searchPeople(unitVector(1), 1)[0]?.personId, 'alice');
    sync.handleLive(one);
    assert.equal(cache.appliedRosterSeq(), 2);
    assert.deepEqual(cache.counts(), { people: 2, templates: 2 });
    assert.deepEqual(rejected, []);
  });

  it('rejects tampered, forged, foreign and malformed changes with a coded error, cache unchanged', () => {
    sync.handleLive(wire(seal(change(1, 'enrol', 'alice'))));
    const good = seal(change(2, 'erase', 'alice'));
    const flipped = {
      ...good,
      ciphertext: `${good.ciphertext[0] === 'A' ? 'B' : 'A'}${good.ciphertext.slice(1)}`,
    };
    const forged = seal(change(2, 'erase', 'alice'), {
      id: hubKey.id,
      privateKey: generateEd25519KeyPair().privateKey,
    });
    const wrongSiteKey = seal(change(2, 'erase', 'alice'), hubKey, { id: siteKey.id, key: randomBytes(32) });
    const otherSite = seal({ ...change(2, 'erase', 'alice'), site: 'site-b' });
    for (const payload of [flipped, forged, wrongSiteKey, otherSite]) sync.handleLive(wire(payload));
    sync.handleLive(Buffer.from('{"v":1,'));
    assert.deepEqual(
      rejected.map((e) => [e.code, e.details.reason]),
      [
        ['TP_AGENT_ROSTER_REJECTED', 'TP_PROTO_ROSTER_SIGNATURE_BAD'],
        ['TP_AGENT_ROSTER_REJECTED', 'TP_PROTO_ROSTER_SIGNATURE_BAD'],
        ['TP_AGENT_ROSTER_REJECTED', 'TP_PROTO_ROSTER_DECRYPT_FAILED'],
        ['TP_AGENT_ROSTER_REJECTED', 'TP_PROTO_ROSTER_SITE_MISMATCH'],
        ['TP_AGENT_ROSTER_REJECTED', 'TP_PROTO_PAYLOAD_NOT_JSON'],
      ],
    );
    assert.equal(cache.appliedRosterSeq(), 1);
    assert.deepEqual(cache.counts(), { people: 1, templates: 1 });
    sync.handleLive(wire(good));
    assert.deepEqual(cache.counts(), { people: 0, templates: 0 });
  });

  it('asks for a sync on a gap and applies the answer in seq order', async () => {
    sync.online(send);
    const first = await nextRequest();
    assert.equal(first.afterSeq, 0);
    sync.handleSyncResponse(respond(first, [], false, 0));
    const changes = [1, 2, 3].map((seq) => seal(change(seq, 'enrol', `p${seq}`)));
    sync.handleLive(wire(changes[0]!));
    sync.handleLive(wire(changes[2]!));
    assert.equal(cache.appliedRosterSeq(), 1, 'seq 3 waits for seq 2');
    const gap = await nextRequest();
    assert.equal(gap.afterSeq, 1);
    const current = new Promise<number>((resolve) => sync.once('current', resolve));
    sync.handleSyncResponse(respond(gap, changes.slice(1), false, 3));
    assert.equal(await current, 3);
    assert.deepEqual(cache.counts(), { people: 3, templates: 3 });
  });

  it('catches up in batches until the hub says no change is left', async () => {
    const all = Array.from({ length: 230 }, (_, i) => seal(change(i + 1, 'enrol', `p${i + 1}`)));
    const current = new Promise<number>((resolve) => sync.once('current', resolve));
    sync.online((request) => {
      requests.push(request);
      const after = all.filter((c) => c.seq > request.afterSeq);
      setImmediate(() =>
        sync.handleSyncResponse(
          respond(request, after.slice(0, request.limit), after.length > request.limit, all.length),
        ),
      );
    });
    assert.equal(await current, 230);
    assert.deepEqual(
      requests.map((r) => r.afterSeq),
      [0, 100, 200],
    );
    assert.deepEqual(cache.counts(), { people: 230, templates: 230 });
  });

  it('ignores answers to other requests, and retries after a timeout, a refusal or a bad change', async () => {
    sync.online(send);
    const first = await nextRequest();
    sync.handleSyncResponse(
      respond({ ...first, requestId: '01900000-0000-7000-8000-000000000000' }, [], false, 0),
    );
    const retried = await nextRequest();
    assert.equal(stalled.at(-1)?.code, 'TP_AGENT_SYNC_TIMEOUT');
    sync.handleSyncResponse(
      Buffer.from(
        JSON.stringify({
          v: 1,
          requestId: retried.requestId,
          changes: [],
          currentSeq: 0,
          more: false,
          error: 'TP_PROTO_KEY_UNKNOWN',
        }),
      ),
    );
    assert.equal(stalled.at(-1)?.code, 'TP_AGENT_SYNC_REFUSED');
    const third = await nextRequest();
    const good = seal(change(1, 'enrol', 'alice'));
    const bad = { ...seal(change(2, 'enrol', 'bob')), sig: good.sig };
    sync.handleSyncResponse(respond(third, [good, bad], false, 2));
    assert.equal(cache.appliedRosterSeq(), 1, 'the verified prefix is applied');
    assert.equal(stalled.at(-1)?.code, 'TP_AGENT_SYNC_INCOMPLETE');
    assert.equal(rejected.at(-1)?.details.reason, 'TP_PROTO_ROSTER_SIGNATURE_BAD');
    const fourth = await nextRequest();
    assert.equal(fourth.afterSeq, 1);
  });
});
