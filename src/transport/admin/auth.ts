// The admin API's bearer token check (DESIGN §5): `Authorization: Bearer <token>`, compared in
// constant time. Both sides are hashed with SHA-256 first, so timingSafeEqual always compares 32
// bytes and neither the token's length nor its first differing byte shows in the time taken.
// Only the digest of the configured token is kept; the token itself is not retained here.
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Longest Authorization header considered; a longer one is refused without hashing it. */
const MAX_AUTHORIZATION_CHARS = 4096;

/** Returns the check of one request's Authorization header value ('' when absent). */
export function bearerCheck(token: string): (authorization: string) => boolean {
  const expected = digest(token);
  return (authorization) => {
    if (authorization.length > MAX_AUTHORIZATION_CHARS) return false;
    // RFC 7235: the scheme is case-insensitive; one or more spaces separate it from the token.
    const m = /^bearer +(\S+) *$/i.exec(authorization);
    // A missing or malformed header still costs one hash and one comparison.
    const given = digest(m?.[1] ?? '');
    return timingSafeEqual(given, expected) && m !== null;
  };
}
