// Who may scrape /metrics: a client sending the configured metrics token, or, when the config allows it, one
// on this machine. The series name devices and sites and count refusals, so they are not for anyone who asks.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HubErrorCode, hubError } from '../errors.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest();

function isLoopback(ip: string): boolean {
  return ip === '::1' || /^(::ffff:)?127\./.test(ip);
}

/** A check that throws TP_HUB_AUTH_REQUIRED for a request that may not scrape. */
export function metricsAccess(options: {
  token: string | null;
  loopback: boolean;
}): (request: FastifyRequest) => void {
  const tokenHash = options.token === null ? undefined : sha256(options.token);
  return (request) => {
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Bearer ')) {
      const sent = sha256(authorization.slice('Bearer '.length).trim());
      if (tokenHash && timingSafeEqual(sent, tokenHash)) return;
      throw hubError(HubErrorCode.authRequired, 'the metrics token is not valid');
    }
    if (options.loopback && isLoopback(request.ip)) return;
    throw hubError(
      HubErrorCode.authRequired,
      tokenHash
        ? 'send the metrics token as "Authorization: Bearer TOKEN"'
        : 'metrics are served to this machine only; configure metrics.token to scrape from elsewhere',
    );
  };
}
