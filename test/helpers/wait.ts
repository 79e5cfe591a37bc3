import type { EventEmitter } from 'node:events';

/**
 * Resolves with the first `event` whose argument satisfies `accept`. The time limit only turns a hang into
 * a failure that says what was awaited; it is never what a test asserts.
 */
export function waitForEvent<T>(
  emitter: EventEmitter,
  event: string,
  accept: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onEvent = (value: T) => {
      if (!accept(value)) return;
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(value);
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    emitter.on(event, onEvent);
  });
}

/** Polls `condition` every 25 ms until it holds; the time limit only turns a hang into a clear failure. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
