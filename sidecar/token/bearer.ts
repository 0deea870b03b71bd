// Extracts a bearer token from the Authorization header only (RFC 6750 §2.1). Tokens in the
// query string (§2.3) or a form body (§2.2) are never read: they leak into logs and caches.
import type { IncomingHttpHeaders } from 'node:http';
import { reject, type TokenRejection } from './challenge.js';

/** b64token per RFC 6750 §2.1. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** The token, or why there is none usable (a bare challenge when nothing was sent). */
export function bearerFrom(headers: IncomingHttpHeaders): { ok: true; token: string } | TokenRejection {
  const value = headers.authorization;
  if (!value) return reject(401, undefined, 'no_token', 'no bearer token in the Authorization header');
  const m = /^Bearer +(\S+)\s*$/i.exec(value);
  if (!m) {
    return /^bearer\b/i.test(value)
      ? reject(401, 'invalid_request', 'malformed_authorization', 'malformed Bearer credentials')
      : reject(401, undefined, 'no_token', 'the Authorization header does not carry a bearer token');
  }
  if (!B64TOKEN.test(m[1]!)) return reject(401, 'invalid_token', 'malformed', 'the token is not a b64token');
  return { ok: true, token: m[1]! };
}
