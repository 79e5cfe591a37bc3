// Bearer tokens (the admin API token, the metrics token): read from the Authorization header and compared
// through their SHA-256 digests, equal in length for timingSafeEqual.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** The token of an "Authorization: Bearer TOKEN" header; undefined for any other header or none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : undefined;
}

/** A constant-time check of candidates against `token`. */
export function tokenMatcher(token: string): (candidate: string) => boolean {
  const expected = digest(token);
  return (candidate) => timingSafeEqual(digest(candidate), expected);
}
