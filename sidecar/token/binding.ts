// Certificate binding (RFC 8705 §3): the token's `cnf.x5t#S256` must equal the SHA-256
// thumbprint of the certificate this very connection presented, so a copied token is useless.
import { timingSafeEqual } from 'node:crypto';
import { reject, type TokenRejection } from './challenge.js';

/** base64url (no padding) of a hex SHA-256 — XFCC's Hash and x5t#S256 are the same digest. */
export function x5tFromHex(sha256Hex: string): string {
  return Buffer.from(sha256Hex, 'hex').toString('base64url');
}

/** The thumbprint a claim set is bound to, if any (JWT payload or introspection answer). */
export function boundThumbprint(claims: Record<string, unknown>): string | undefined {
  const cnf = claims['cnf'];
  if (typeof cnf !== 'object' || cnf === null) return undefined;
  const t = (cnf as Record<string, unknown>)['x5t#S256'];
  return typeof t === 'string' ? t : undefined;
}

/** Null when the token is bound to `peerX5t`, else the rejection. */
export function checkBinding(claims: Record<string, unknown>, peerX5t: string): TokenRejection | null {
  const bound = boundThumbprint(claims);
  if (!bound) return reject(401, 'invalid_token', 'unbound_token', 'the token is not bound to a certificate');
  const a = Buffer.from(bound);
  const b = Buffer.from(peerX5t);
  if (a.length !== b.length || !timingSafeEqual(a, b))
    return reject(401, 'invalid_token', 'cnf_mismatch', 'the token is bound to another certificate');
  return null;
}
