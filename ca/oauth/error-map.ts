// The one mapping from Tether error codes to the token server's HTTP status and OAuth error
// (RFC 6749 §5.2, RFC 8707 §2). Codes the token server never raises map to server_error.
import type { ErrorCode } from '../../common/errors.js';

export interface OAuthErrorMapping {
  readonly status: number;
  readonly error: string;
}

const SERVER_ERROR: OAuthErrorMapping = { status: 500, error: 'server_error' };
const UNAVAILABLE: OAuthErrorMapping = { status: 503, error: 'temporarily_unavailable' };

export const OAUTH_ERROR: Record<ErrorCode, OAuthErrorMapping> = {
  ERR_TOKEN_REQUEST_INVALID: { status: 400, error: 'invalid_request' },
  ERR_GRANT_TYPE_UNSUPPORTED: { status: 400, error: 'unsupported_grant_type' },
  ERR_CLIENT_AUTH_FAILED: { status: 401, error: 'invalid_client' },
  ERR_SCOPE_NOT_ALLOWED: { status: 400, error: 'invalid_scope' },
  ERR_TARGET_INVALID: { status: 400, error: 'invalid_target' },
  // A blocked source: 429 with Retry-After; temporarily_unavailable is the registered OAuth error
  // that tells a client to come back later rather than fix its credentials.
  ERR_SOURCE_BLOCKED: { status: 429, error: 'temporarily_unavailable' },
  ERR_RATE_LIMITED: { status: 429, error: 'temporarily_unavailable' },
  ERR_CA_NOT_READY: UNAVAILABLE,
  ERR_STORE_UNAVAILABLE: UNAVAILABLE,
  ERR_KEY_UNREADABLE: UNAVAILABLE,
  ERR_CA_NOT_INITIALIZED: UNAVAILABLE,
  ERR_CSR_MALFORMED: SERVER_ERROR,
  ERR_CSR_TOO_LARGE: SERVER_ERROR,
  ERR_CSR_SIGNATURE_INVALID: SERVER_ERROR,
  ERR_CSR_KEY_UNSUPPORTED: SERVER_ERROR,
  ERR_CSR_CA_REQUESTED: SERVER_ERROR,
  ERR_CSR_IDENTITY_MISMATCH: SERVER_ERROR,
  ERR_CSR_DNS_NOT_ALLOWED: SERVER_ERROR,
  ERR_TTL_TOO_SHORT: SERVER_ERROR,
  ERR_SPIFFE_ID_INVALID: SERVER_ERROR,
  ERR_CREDENTIAL_MISSING: SERVER_ERROR,
  ERR_CREDENTIAL_INVALID: SERVER_ERROR,
  ERR_TRUST_DOMAIN_MISMATCH: SERVER_ERROR,
  ERR_IDENTITY_DENIED: SERVER_ERROR,
  ERR_NAMESPACE_NOT_ALLOWED: SERVER_ERROR,
  ERR_ISSUED_CERT_INVALID: SERVER_ERROR,
  ERR_CONFIG_INVALID: SERVER_ERROR,
  ERR_CA_EXISTS: SERVER_ERROR,
  ERR_UPSTREAM_INVALID: SERVER_ERROR,
  ERR_ROTATION_REFUSED: SERVER_ERROR,
  ERR_NOT_FOUND: SERVER_ERROR,
  ERR_USAGE: SERVER_ERROR,
  ERR_LISTEN_FAILED: SERVER_ERROR,
  ERR_ADMISSION_INVALID: SERVER_ERROR,
  ERR_INTERNAL: SERVER_ERROR,
};
