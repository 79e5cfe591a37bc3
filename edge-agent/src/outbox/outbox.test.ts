import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  envelopeHash,
  GENESIS_HASH,
  generateEd25519KeyPair,
  isTpError,
  verifyEvent,
} from '@truepresence/protocol';
import { captureLogger } from '../../../test/helpers/logs.ts';
import type { OutboxConfig } from './config.ts';
import { type DecisionFields, Outbox, type OutboxOpenOptions } from './outbox.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-outbox-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const keys = generateEd25519KeyPair();
const identity = { site: 'site-a', device: 'door-1', privateKey: keys.privateKey };
const storageKey = randomBytes(32);
let files = 0;

function options(
  overrides: Partial<OutboxConfig> = {},
  extra: Partial<OutboxOpenOptions> = {},
): OutboxOpenOptions {
  return {
    config: {
      path: join(dir, `outbox-${++files}.db`),
      maxBytes: 64 * 1024 * 1024,
      nearFullRatio: 0.8,
      reserveDiskBytes: 0,
      ...overrides,
    },
    key: storageKey,
    identity,
    create: true,
    logger: captureLogger().logger,
    ...extra,
  };
}

function decision(i: number): DecisionFields {
  return {
    camera: 'front',
    kind: 'attendance',
    personId: `p-${i}`,
    direction: 'in',
    capturedAt: new Date(Date.UTC(2025, 0, 1, 8, 0, 0, i)).toISOString(),
    similarity: 0.71,
    margin: 0.2,
    liveness: 0.98,
    quality: 0.8,
    rosterSeq: 3,
    modelPack: 'default-1.0.0',
  };
}

function fileDigest(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function expectCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (error) => isTpError(error, code));
}

describe('Outbox', () => {
  it('signs a gap-free hash chain, keeps it across reopen and lists pending events in seq order', () => {
    const opts = options();
    let outbox = Outbox.open(opts);
    const first = [0, 1, 2].map((i) => outbox.append(decision(i)));
    outbox.close();
    outbox = Outbox.open({ ...opts, create: false });
    const later = [3, 4].map((i) => outbox.append(decision(i)));
    const all = [...first, ...later];
    assert.deepEqual(
      all.map((e) => e.seq),
      [1, 2, 3, 4, 5],
    );
    assert.equal(all[0]!.prev, GENESIS_HASH);
    for (let i = 1; i < all.length; i++) assert.equal(all[i]!.prev, envelopeHash(all[i - 1]!));
    const lookupKey = () => ({ publicKey: keys.publicKey, revoked: false });
    const pending = outbox.pending(10);
    assert.deepEqual(
      pending.map((p) => p.id),
      all.map((e) => e.id),
    );
    for (const p of pending) assert.deepEqual(verifyEvent(p.body, { lookupKey }).envelope.seq, p.seq);
    assert.deepEqual(
      outbox.pending(2, 3).map((p) => p.seq),
      [4, 5],
    );
    assert.deepEqual(outbox.stats().head, { seq: 5, hash: envelopeHash(all[4]!) });
    outbox.close();
  });

  it('deletes only acknowledged ids and keeps refused ones as dead letters', () => {
    const outbox = Outbox.open(options());
    const events = [0, 1, 2, 3].map((i) => outbox.append(decision(i)));
    const bytes = outbox.stats().pendingBytes;
    assert.equal(outbox.ack([events[0]!.id, events[2]!.id, '01900000-0000-7000-8000-000000000000']), 2);
    assert.equal(outbox.ack([events[0]!.id]), 0);
    assert.equal(outbox.reject(events[1]!.id, 'TP_HUB_TEST'), true);
    assert.equal(outbox.reject(events[1]!.id, 'TP_HUB_TEST'), false);
    assert.deepEqual(
      outbox.pending(10).map((p) => p.seq),
      [4],
    );
    const dead = outbox.deadLetters();
    assert.deepEqual(
      dead.map((d) => [d.seq, d.id, d.code]),
      [[2, events[1]!.id, 'TP_HUB_TEST']],
    );
    const stats = outbox.stats();
    assert.equal(stats.pending, 1);
    assert.equal(stats.deadLetters, 1);
    assert.equal(stats.usedBytes, stats.pendingBytes + stats.deadLetterBytes);
    assert.ok(stats.usedBytes < bytes && stats.usedBytes > 0);
    outbox.close();
  });

  it('warns when nearly full and refuses decisions with TP_AGENT_OUTBOX_FULL when full, storing nothing', () => {
    const log = captureLogger();
    const outbox = Outbox.open(options({ maxBytes: 4000, nearFullRatio: 0.5 }, { logger: log.logger }));
    const changes: boolean[] = [];
    outbox.on('storage', (s) => changes.push(s.nearFull));
    const accepted = [];
    let refused: unknown;
    for (let i = 0; i < 20 && refused === undefined; i++) {
      try {
        accepted.push(outbox.append(decision(i)));
      } catch (error) {
        refused = error;
      }
    }
    assert.ok(isTpError(refused, 'TP_AGENT_OUTBOX_FULL'), String(refused));
    const stats = outbox.stats();
    assert.equal(stats.pending, accepted.length);
    assert.ok(stats.nearFull);
    assert.ok(stats.usedBytes <= 4000);
    assert.equal(stats.head.seq, accepted.length);
    assert.deepEqual(changes, [true]);
    assert.ok(log.lines.some((l) => l.includes('"level":40') && l.includes('nearly full')));
    outbox.ack(accepted.map((e) => e.id));
    assert.equal(outbox.stats().nearFull, false);
    assert.equal(outbox.append(decision(99)).seq, accepted.length + 1);
    outbox.close();
  });

  it('refuses a decision that does not match the envelope schema, storing nothing', () => {
    const outbox = Outbox.open(options());
    expectCode(() => outbox.append({ ...decision(0), personId: null }), 'TP_PROTO_SCHEMA');
    assert.equal(outbox.stats().pending, 0);
    assert.equal(outbox.append(decision(1)).seq, 1);
    outbox.close();
  });

  it('refuses a missing file unless told to create it', () => {
    const opts = options();
    expectCode(() => Outbox.open({ ...opts, create: false }), 'TP_AGENT_OUTBOX_MISSING');
    assert.equal(existsSync(opts.config.path), false);
  });

  it('refuses a wrong key, a damaged file and another device, leaving the file as it was', () => {
    const opts = options();
    const outbox = Outbox.open(opts);
    for (let i = 0; i < 50; i++) outbox.append(decision(i));
    outbox.close();
    const path = opts.config.path;
    const digest = fileDigest(path);
    expectCode(
      () => Outbox.open({ ...opts, create: false, key: randomBytes(32) }),
      'TP_AGENT_OUTBOX_KEY_WRONG',
    );
    expectCode(
      () => Outbox.open({ ...opts, create: false, key: randomBytes(16) }),
      'TP_AGENT_OUTBOX_KEY_INVALID',
    );
    const other = { ...identity, privateKey: generateEd25519KeyPair().privateKey };
    expectCode(() => Outbox.open({ ...opts, create: false, identity: other }), 'TP_AGENT_OUTBOX_IDENTITY');
    assert.equal(fileDigest(path), digest);

    const bytes = readFileSync(path);
    assert.ok(bytes.byteLength > 4 * 4096);
    bytes.fill(0x5a, 3 * 4096 + 100, 3 * 4096 + 200);
    writeFileSync(path, bytes);
    const damaged = fileDigest(path);
    expectCode(() => Outbox.open({ ...opts, create: false }), 'TP_AGENT_OUTBOX_CORRUPT');
    assert.equal(fileDigest(path), damaged);
  });

  it('keeps no decision in clear in the file', () => {
    const opts = options();
    const outbox = Outbox.open(opts);
    outbox.append({ ...decision(0), personId: 'person-visible-name' });
    outbox.close();
    assert.equal(readFileSync(opts.config.path).includes('person-visible-name'), false);
  });
});
