import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { type EventEnvelope, generateEd25519KeyPair, PROTOCOL_VERSION } from '@truepresence/protocol';
import { captureLogger } from '../../../test/helpers/logs.ts';
import { waitForEvent } from '../../../test/helpers/wait.ts';
import { Outbox } from '../outbox/outbox.ts';
import { Publisher } from './publisher.ts';

const dir = mkdtempSync(join(tmpdir(), 'tp-publisher-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let outbox: Outbox;
let publisher: Publisher;
let sent: EventEnvelope[];
let files = 0;
let log: ReturnType<typeof captureLogger>;
const wire = new EventEmitter();

function send(body: Buffer): void {
  sent.push(JSON.parse(body.toString()) as EventEnvelope);
  wire.emit('sent', sent.length);
}

function append(n: number): EventEnvelope[] {
  return Array.from({ length: n }, () =>
    outbox.append({
      camera: 'front',
      kind: 'unknown',
      personId: null,
      direction: null,
      capturedAt: new Date().toISOString(),
      similarity: 0.2,
      margin: null,
      liveness: 0.9,
      quality: 0.7,
      rosterSeq: 0,
      modelPack: 'pack-1',
    }),
  );
}

beforeEach(() => {
  log = captureLogger();
  outbox = Outbox.open({
    config: {
      path: join(dir, `outbox-${++files}.db`),
      maxBytes: 1 << 24,
      nearFullRatio: 0.8,
      reserveDiskBytes: 0,
    },
    key: randomBytes(32),
    identity: { site: 'site-a', device: 'door-1', privateKey: generateEd25519KeyPair().privateKey },
    create: true,
    logger: log.logger,
  });
  publisher = new Publisher(
    outbox,
    { window: 10, ackTimeoutMs: 60_000, maxAckTimeoutMs: 60_000 },
    log.logger,
  );
  publisher.start();
  sent = [];
});

afterEach(() => {
  publisher.stop();
  outbox.close();
});

const seqs = (events: EventEnvelope[]) => events.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('Publisher', () => {
  it('keeps at most `window` events in flight, in seq order, and deletes only what the hub acks', async () => {
    const events = append(25);
    publisher.online(send);
    assert.deepEqual(seqs(sent), range(1, 10));
    assert.equal(outbox.stats().pending, 25, 'a send is not an ack');
    publisher.handleAck({ v: PROTOCOL_VERSION, ids: events.slice(0, 3).map((e) => e.id), rejected: [] });
    assert.deepEqual(seqs(sent), range(1, 13));
    assert.equal(publisher.inFlight, 10);
    const ack = (from: number, to: number) =>
      publisher.handleAck({
        v: PROTOCOL_VERSION,
        ids: events.slice(from - 1, to).map((e) => e.id),
        rejected: [],
      });
    ack(4, 13);
    assert.deepEqual(seqs(sent), range(1, 23));
    ack(14, 23);
    assert.deepEqual(seqs(sent), range(1, 25));
    publisher.handleAck({
      v: PROTOCOL_VERSION,
      ids: [events[23]!.id],
      rejected: [{ id: events[24]!.id, code: 'TP_HUB_TEST' }],
    });
    assert.equal(outbox.stats().pending, 0);
    assert.deepEqual(
      outbox.deadLetters().map((d) => d.seq),
      [25],
    );
  });

  it('sends what is appended while online, and nothing while offline', async () => {
    publisher.online(send);
    append(2);
    await waitForEvent(wire, 'sent', (n: number) => n === 2, 'two live sends');
    publisher.offline();
    append(3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sent.length, 2);
    publisher.online(send);
    assert.deepEqual(seqs(sent), [1, 2, 1, 2, 3, 4, 5], 'unacknowledged events go again, oldest first');
  });

  it('sends the window again from the oldest pending event when no ack comes', async () => {
    publisher.stop();
    publisher = new Publisher(outbox, { window: 4, ackTimeoutMs: 20, maxAckTimeoutMs: 40 }, log.logger);
    publisher.start();
    const events = append(6);
    publisher.online(send);
    await waitForEvent(wire, 'sent', (n: number) => n === 8, 'a resend after the ack timeout');
    assert.deepEqual(seqs(sent), [1, 2, 3, 4, 1, 2, 3, 4]);
    assert.ok(log.lines.some((l) => l.includes('TP_AGENT_ACK_TIMEOUT')));
    publisher.handleAck({ v: PROTOCOL_VERSION, ids: events.slice(0, 4).map((e) => e.id), rejected: [] });
    assert.deepEqual(seqs(sent).slice(8), [5, 6]);
    publisher.handleAck({ v: PROTOCOL_VERSION, ids: events.slice(4).map((e) => e.id), rejected: [] });
    assert.equal(outbox.stats().pending, 0);
  });
});
