// The web page's live channel: Server-Sent Events of the events ingestion has just committed, each client
// getting only the sites its account may see. A heartbeat keeps proxies from closing the stream and ends
// it once the login behind it is gone; a client that stops reading is dropped (it reconnects and reloads).
import type { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Logger } from '@truepresence/protocol';
import { toEvent } from '../api/views.ts';
import type { Actor } from '../auth/auth.ts';
import type { HubRepository, NewEvent } from '../store/index.ts';

export interface LiveFeedOptions {
  /** Emits `stored` with the NewEvent[] of each commit (the Ingestion). */
  source: EventEmitter;
  store: Pick<HubRepository, 'getSession'>;
  logger: Logger;
  heartbeatMs?: number;
  /** A client with more than this many bytes unsent is dropped. */
  maxBufferedBytes?: number;
}

interface Client {
  response: ServerResponse;
  actor: Actor;
}

export class LiveFeed {
  readonly #o: Required<LiveFeedOptions>;
  readonly #clients = new Set<Client>();
  readonly #onStored = (events: NewEvent[]) => this.#broadcast(events);
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(options: LiveFeedOptions) {
    this.#o = { heartbeatMs: 20_000, maxBufferedBytes: 1024 * 1024, ...options };
  }

  get clients(): number {
    return this.#clients.size;
  }

  async start(): Promise<void> {
    this.#o.source.on('stored', this.#onStored);
    this.#heartbeat = setInterval(() => void this.#beat(), this.#o.heartbeatMs);
  }

  /** Ends every stream (the server cannot close while they are open). */
  async stop(): Promise<void> {
    this.#o.source.off('stored', this.#onStored);
    clearInterval(this.#heartbeat);
    for (const client of this.#clients) client.response.end();
    this.#clients.clear();
  }

  /** Starts the event stream on a response nothing has been written to. */
  attach(response: ServerResponse, actor: Actor): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    // The browser waits this long before reconnecting after the stream ends.
    response.write('retry: 3000\n\n');
    const client = { response, actor };
    this.#clients.add(client);
    response.once('close', () => this.#clients.delete(client));
  }

  #send(client: Client, text: string): void {
    if (client.response.writableLength > this.#o.maxBufferedBytes) {
      this.#o.logger.warn({ user: client.actor.name }, 'live client too slow; stream closed');
      this.#drop(client);
      return;
    }
    client.response.write(text);
  }

  #drop(client: Client): void {
    this.#clients.delete(client);
    client.response.end();
  }

  #broadcast(events: readonly NewEvent[]): void {
    if (this.#clients.size === 0) return;
    const views = events.map(toEvent);
    const all = `event: events\ndata: ${JSON.stringify({ events: views })}\n\n`;
    for (const client of this.#clients) {
      const scope = client.actor.siteScope;
      if (!scope) {
        this.#send(client, all);
        continue;
      }
      const visible = views.filter((e) => scope.includes(e.siteId));
      if (visible.length > 0)
        this.#send(client, `event: events\ndata: ${JSON.stringify({ events: visible })}\n\n`);
    }
  }

  async #beat(): Promise<void> {
    for (const client of [...this.#clients]) {
      const session = client.actor.session;
      if (session && !(await this.#o.store.getSession(session.tokenHash).catch(() => session))) {
        this.#drop(client);
        continue;
      }
      this.#send(client, ': keep-alive\n\n');
    }
  }
}
