// Who may scrape /metrics: a client sending the configured metrics token, or, when the config allows it, one
// on this machine. The series name devices and sites and count refusals, so they are not for anyone who asks.
import type { FastifyRequest } from 'fastify';
import { bearerToken, tokenMatcher } from '../auth/bearer.ts';
import { HubErrorCode, hubError } from '../errors.ts';

function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(::ffff:)?127\./.test(ip);
}

/** A check that throws TP_HUB_AUTH_REQUIRED for a request that may not scrape. */
export function metricsAccess(options: {
  token: string | null;
  loopback: boolean;
}): (request: FastifyRequest) => void {
  const isToken = options.token === null ? undefined : tokenMatcher(options.token);
  return (request) => {
    const token = bearerToken(request.headers.authorization);
    if (token !== undefined) {
      if (isToken?.(token)) return;
      throw hubError(HubErrorCode.authRequired, 'the metrics token is not valid');
    }
    if (options.loopback && isLoopback(request.ip)) return;
    throw hubError(
      HubErrorCode.authRequired,
      isToken
        ? 'send the metrics token as "Authorization: Bearer TOKEN"'
        : 'metrics are served to this machine only; configure metrics.token to scrape from elsewhere',
    );
  };
}
