// The one live channel: Server-Sent Events from GET /api/v1/live (simple, and passes through proxies).
// EventSource reconnects by itself; after every (re)connection listeners refetch what they show, so that
// nothing stored while the link was down is missing.
import { useEffect, useState } from 'preact/hooks';
import { base, type EventView } from './api.ts';

export type LiveState = 'connecting' | 'live' | 'down';

type EventsListener = (events: EventView[]) => void;

class LiveChannel {
  #source: EventSource | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #state: LiveState = 'connecting';
  readonly #events = new Set<EventsListener>();
  readonly #opened = new Set<() => void>();
  readonly #states = new Set<(state: LiveState) => void>();

  get state(): LiveState {
    return this.#state;
  }

  open(): void {
    if (this.#source) return;
    const source = new EventSource(`${base}/live`);
    this.#source = source;
    this.#setState('connecting');
    source.addEventListener('open', () => {
      this.#setState('live');
      for (const listener of this.#opened) listener();
    });
    source.addEventListener('events', (message) => {
      const events = (JSON.parse((message as MessageEvent<string>).data) as { events: EventView[] }).events;
      for (const listener of this.#events) listener(events);
    });
    source.addEventListener('error', () => {
      if (source.readyState !== EventSource.CLOSED) {
        this.#setState('connecting');
        return;
      }
      // Refused (logged out, hub restarting): try again later with a fresh EventSource.
      this.#setState('down');
      this.#source = undefined;
      this.#retry = setTimeout(() => this.open(), 5000);
    });
  }

  close(): void {
    clearTimeout(this.#retry);
    this.#source?.close();
    this.#source = undefined;
    this.#setState('down');
  }

  #setState(state: LiveState): void {
    this.#state = state;
    for (const listener of this.#states) listener(state);
  }

  subscribe(onEvents: EventsListener, onOpen: () => void): () => void {
    this.#events.add(onEvents);
    this.#opened.add(onOpen);
    return () => {
      this.#events.delete(onEvents);
      this.#opened.delete(onOpen);
    };
  }

  watch(listener: (state: LiveState) => void): () => void {
    this.#states.add(listener);
    return () => this.#states.delete(listener);
  }
}

export const live = new LiveChannel();

export function useLiveState(): LiveState {
  const [state, setState] = useState(live.state);
  useEffect(() => live.watch(setState), []);
  return state;
}
