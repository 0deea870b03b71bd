// SPIFFE ID parsing per the SPIFFE-ID specification: every identity that crosses a boundary is
// parsed here once, so the rest of the code handles only valid, normalized IDs.
import { TetherError } from './errors.js';

const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const PATH_SEGMENT_CHARS = /^[a-zA-Z0-9._-]+$/;
const SCHEME = 'spiffe://';

/** A parsed, valid SPIFFE ID. `toString()` is the canonical form. */
export interface SpiffeId {
  readonly trustDomain: string;
  /** Path including the leading `/`, or '' for a trust-domain ID. */
  readonly path: string;
  toString(): string;
}

function invalid(reason: string): TetherError {
  return new TetherError('ERR_SPIFFE_ID_INVALID', `invalid SPIFFE ID: ${reason}`);
}

/** Validates a trust domain name (lowercase letters, digits, '.', '-', '_'; at most 255 bytes). */
export function parseTrustDomain(input: string): string {
  if (input.length === 0) throw invalid('trust domain is empty');
  if (Buffer.byteLength(input) > MAX_TRUST_DOMAIN_BYTES) throw invalid('trust domain longer than 255 bytes');
  if (!TRUST_DOMAIN_CHARS.test(input)) {
    throw invalid(`trust domain "${input}" may contain only lowercase a-z, 0-9, '.', '-' and '_'`);
  }
  return input;
}

function checkPath(path: string): void {
  if (path === '') return;
  if (path.endsWith('/')) throw invalid('path has a trailing "/"');
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') throw invalid('path has an empty segment');
    if (segment === '.' || segment === '..') throw invalid('path has a "." or ".." segment');
    if (!PATH_SEGMENT_CHARS.test(segment)) {
      throw invalid(`path segment "${segment}" may contain only a-z, A-Z, 0-9, '.', '-' and '_'`);
    }
  }
}

/**
 * Parses `spiffe://<trust-domain>/<path>`. The scheme and trust domain compare
 * case-insensitively in the spec, but the canonical form is lowercase, and we accept only that
 * so that two spellings can never name the same workload.
 */
export function parseSpiffeId(input: string): SpiffeId {
  if (typeof input !== 'string' || input.length === 0) throw invalid('empty');
  if (Buffer.byteLength(input) > MAX_ID_BYTES) throw invalid('longer than 2048 bytes');
  if (!input.startsWith(SCHEME)) throw invalid('scheme must be "spiffe://"');
  const rest = input.slice(SCHEME.length);
  if (/[?#]/.test(rest)) throw invalid('query and fragment are not allowed');
  if (rest.includes('%')) throw invalid('percent-encoding is not allowed');
  const slash = rest.indexOf('/');
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (authority.includes('@')) throw invalid('userinfo is not allowed');
  if (authority.includes(':')) throw invalid('a port is not allowed');
  const trustDomain = parseTrustDomain(authority);
  checkPath(path);
  const text = `${SCHEME}${trustDomain}${path}`;
  return Object.freeze({ trustDomain, path, toString: () => text });
}

/** Parses and additionally requires a non-empty path (workload IDs, never a bare trust domain). */
export function parseWorkloadId(input: string): SpiffeId {
  const id = parseSpiffeId(input);
  if (id.path === '') throw invalid('a workload ID needs a path after the trust domain');
  return id;
}

/** The SPIFFE ID the Tether CA presents on its listeners: spiffe://<td>/tether/ca. */
export function caServerId(trustDomain: string): SpiffeId {
  return parseWorkloadId(`${SCHEME}${trustDomain}/tether/ca`);
}
