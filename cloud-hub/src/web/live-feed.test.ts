// The live feed over real HTTP streams, with sessions in a real SQLite store: each client gets the events
// of its sites only, a stream ends at the heartbeat after its login is gone, and stop() ends them all.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createLogger, parseConfig } from '@truepresence/protocol';
import { eventView } from '../api/views.ts';
import type { Actor } from '../auth/auth.ts';
import { type HubStore, type NewEvent, openStore, storeConfigSchema } from '../store/index.ts';
import { LiveFeed } from './live-feed.ts';

function event(siteId: string, n: number): NewEvent {
  return {
    eventId: `0197c0de-0000-7000-8000-${String(n).padStart(12, '0')}`,
    deviceId: `${siteId}-cam`,
    siteId,
    cameraId: 'door-1',
    kind: 'attendance',
    personId: 'p1',
    direction: 'in',
    capturedAt: 1_790_000_000_000 + n,
    similarity: 0.7,
    margin: 0.2,
    liveness: 0.9,
    quality: 0.8,
    rosterSeq: 1,
    modelPackVersion: 'pack@1',
    deviceSeq: n,
    prevHash: 'x',
    envelopeHash: 'y',
    envelope: '{}',
    receivedAt: 1_790_000_000_000 + n,
  };
}

/** A stream reader: everything received so far, and a wait for the stream's end. */
class StreamClient {
  text = '';
  readonly ended: Promise<void>;
  readonly #changes = new EventEmitter();

  constructor(response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      this.text += chunk;
      this.#changes.emit('data');
    });
    this.ended = new Promise((resolve) => response.once('end', resolve));
  }

  /** Event ids of every "events" message received. */
  get eventIds(): string[] {
    return [...this.text.matchAll(/^data: (.*)$/gm)].flatMap((m) =>
      (JSON.parse(m[1]!) as { events: Array<{ eventId: string }> }).events.map((e) => e.eventId),
    );
  }

  async waitFor(text: string): Promise<void> {
    while (!this.text.includes(text)) await new Promise((resolve) => this.#changes.once('data', resolve));
  }
}

describe('live feed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tp-live-'));
  const logger = createLogger({ level: 'silent', name: 'live-test' });
  const source = new EventEmitter();
  let store: HubStore;
  let feed: LiveFeed;
  let server: Server;
  const actors = new Map<string, Actor>();

  const connect = (who: string) =>
    new Promise<StreamClient>((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      get({ host: '127.0.0.1', port, path: `/${who}` }, (response) => {
        assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
        const client = new StreamClient(response);
        client.waitFor('retry: 3000\n\n').then(() => resolve(client), reject);
      }).once('error', reject);
    });

  before(async () => {
    store = openStore(
      parseConfig(storeConfigSchema, { type: 'sqlite', path: join(dir, 'hub.sqlite') }, 'test'),
      logger,
    );
    await store.start();
    for (const [username, siteScope] of [
      ['all', null],
      ['a-only', ['site-a']],
    ] satisfies Array<[string, string[] | null]>) {
      await store.createUser({ username, passwordHash: 'unused', role: 'viewer', siteScope });
      const session = await store.createSession({
        tokenHash: `token-${username}`,
        username,
        csrfHash: 'csrf',
        expiresAt: Date.now() + 3_600_000,
      });
      actors.set(username, { name: username, role: 'viewer', siteScope, via: 'session', session });
    }
    feed = new LiveFeed({ source, store, logger, heartbeatMs: 20 });
    await feed.start();
    server = createServer((request, response) => feed.attach(response, actors.get(request.url!.slice(1))!));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await feed.stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each commit to every client, limited to the sites the account may see', async () => {
    const all = await connect('all');
    const scoped = await connect('a-only');
    source.emit('stored', [event('site-a', 1), event('site-b', 2)]);
    source.emit('stored', [event('site-b', 3)]);
    source.emit('stored', [event('site-a', 4)]);
    await all.waitFor(event('site-a', 4).eventId);
    await scoped.waitFor(event('site-a', 4).eventId);
    const id = (n: number) => event('any', n).eventId;
    assert.deepEqual(all.eventIds, [id(1), id(2), id(3), id(4)]);
    assert.deepEqual(scoped.eventIds, [id(1), id(4)]);
    // Each item is what GET /api/v1/events lists (a strict schema: no field more, none less).
    const first = JSON.parse(/^data: (.*)$/m.exec(scoped.text)![1]!) as { events: unknown[] };
    assert.equal(eventView.parse(first.events[0]).eventId, id(1));
  });

  it('keeps streams alive with comments and ends one once its login is gone', async () => {
    const all = await connect('all');
    await all.waitFor(': keep-alive');
    await store.deleteSession('token-all');
    await all.ended;
    const scoped = await connect('a-only');
    await scoped.waitFor(': keep-alive');
    await feed.stop();
    await scoped.ended;
    assert.equal(feed.clients, 0);
  });
});
