import type { BackoffConfig } from './config.ts';

/**
 * Delay before reconnect attempt number `attempt` (0 for the first retry): exponential backoff with full
 * jitter, a uniformly random delay in [0, min(maxMs, initialMs * 2^attempt)], so many cameras that lost the
 * same link do not reconnect in lockstep.
 */
export function backoffDelayMs(
  attempt: number,
  config: BackoffConfig,
  random: () => number = Math.random,
): number {
  const bound = Math.min(config.maxMs, config.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * bound);
}
