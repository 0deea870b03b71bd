// RFC 6750 §3 `WWW-Authenticate` values and the rejection type the inbound answers with.

/** Why a request was refused: status, RFC 6750 error, a safe description, and a metric label. */
export interface TokenRejection {
  readonly ok: false;
  readonly status: 401 | 403 | 503;
  /** Absent for "no token" (bare challenge) and for 503 (our problem, not the caller's). */
  readonly error?: 'invalid_token' | 'insufficient_scope' | 'invalid_request';
  readonly description: string;
  /** Metric label and log field (`tether_sidecar_token_rejected_total{reason}`). */
  readonly reason: string;
  /** For insufficient_scope: the scopes the resource needs (RFC 6750 §3). */
  readonly scope?: string;
}

/** A quoted-string safe value: RFC 6750 §3 restricts error_description to %x20-21 / %x23-5B / %x5D-7E. */
function quoted(v: string): string {
  return `"${v.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '')}"`;
}

/** The challenge for a rejection; a bare `Bearer` when the request carried no token (§3.1). */
export function challengeFor(r: TokenRejection, realm?: string): string {
  const params: string[] = [];
  if (realm) params.push(`realm=${quoted(realm)}`);
  if (r.error) {
    params.push(`error=${quoted(r.error)}`, `error_description=${quoted(r.description)}`);
    if (r.scope) params.push(`scope=${quoted(r.scope)}`);
  }
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer';
}

/** Builds a rejection. */
export function reject(
  status: TokenRejection['status'],
  error: TokenRejection['error'],
  reason: string,
  description: string,
  scope?: string,
): TokenRejection {
  return {
    ok: false,
    status,
    ...(error ? { error } : {}),
    reason,
    description,
    ...(scope ? { scope } : {}),
  };
}

/** Reads the challenge an upstream answered with: is it RFC 6750 `invalid_token`? */
export function isInvalidTokenChallenge(header: string | string[] | undefined): boolean {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  return values.some((v) => /^\s*bearer\b/i.test(v) && /\berror\s*=\s*"?invalid_token"?/i.test(v));
}
