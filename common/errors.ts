// The one error type Tether raises on purpose. `code` is stable and documented in docs/errors.md;
// `message` is safe to show a caller; internal detail travels in `cause` and the logs only.

/** Every error code Tether emits. docs/errors.md documents each one (a test keeps them in step). */
export const ERROR_CODES = [
  'ERR_CSR_MALFORMED',
  'ERR_CSR_TOO_LARGE',
  'ERR_CSR_SIGNATURE_INVALID',
  'ERR_CSR_KEY_UNSUPPORTED',
  'ERR_CSR_CA_REQUESTED',
  'ERR_CSR_IDENTITY_MISMATCH',
  'ERR_CSR_DNS_NOT_ALLOWED',
  'ERR_TTL_TOO_SHORT',
  'ERR_SPIFFE_ID_INVALID',
  'ERR_CREDENTIAL_MISSING',
  'ERR_CREDENTIAL_INVALID',
  'ERR_TRUST_DOMAIN_MISMATCH',
  'ERR_IDENTITY_DENIED',
  'ERR_NAMESPACE_NOT_ALLOWED',
  'ERR_RATE_LIMITED',
  'ERR_SOURCE_BLOCKED',
  'ERR_CA_NOT_READY',
  'ERR_STORE_UNAVAILABLE',
  'ERR_ISSUED_CERT_INVALID',
  'ERR_CONFIG_INVALID',
  'ERR_CA_EXISTS',
  'ERR_CA_NOT_INITIALIZED',
  'ERR_KEY_UNREADABLE',
  'ERR_UPSTREAM_INVALID',
  'ERR_ROTATION_REFUSED',
  'ERR_NOT_FOUND',
  'ERR_TOKEN_REQUEST_INVALID',
  'ERR_GRANT_TYPE_UNSUPPORTED',
  'ERR_CLIENT_AUTH_FAILED',
  'ERR_SCOPE_NOT_ALLOWED',
  'ERR_TARGET_INVALID',
  'ERR_USAGE',
  'ERR_LISTEN_FAILED',
  'ERR_ADMISSION_INVALID',
  'ERR_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base error: `switch (err.code)` narrows to one failure. */
export class TetherError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TetherError';
    this.code = code;
  }
}

/** Wraps anything thrown into a TetherError, keeping the original as `cause`. */
export function asTetherError(err: unknown): TetherError {
  if (err instanceof TetherError) return err;
  return new TetherError('ERR_INTERNAL', 'internal error', { cause: err });
}
