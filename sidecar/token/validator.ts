// JWT access token validation (RFC 9068 §4) in jwt mode: signature by the AS's JWKS with an
// algorithm allow-list, `typ` at+jwt, exact issuer, our audience, exp required, nbf/iat within
// 60 s of skew — on every request. Certificate binding and scopes are checked by the caller.
import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { reject, type TokenRejection } from './challenge.js';

/** Asymmetric algorithms only: never `none`, never HMAC (a public key is not a shared secret). */
export const ALLOWED_ALGORITHMS = ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
export const CLOCK_SKEW_SECONDS = 60;

export interface JwtValidatorOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly keys: JWTVerifyGetKey;
  readonly now: () => number;
}

export type Validated = { readonly ok: true; readonly claims: JWTPayload } | TokenRejection;

const invalid = (reason: string, description: string) => reject(401, 'invalid_token', reason, description);

function claimRejection(err: errors.JWTClaimValidationFailed): TokenRejection {
  const missing = err.reason === 'missing';
  switch (err.claim) {
    case 'iss':
      return invalid('wrong_issuer', 'the token was issued by another authorization server');
    case 'aud':
      return invalid('wrong_audience', 'the token is not meant for this resource');
    case 'exp':
      return invalid(missing ? 'missing_exp' : 'malformed', 'the token has no valid expiry');
    case 'typ':
      return invalid('wrong_typ', 'the token is not an access token (typ must be at+jwt)');
    case 'nbf':
      return invalid('not_yet_valid', 'the token is not valid yet');
    default:
      return invalid('malformed', `the token's ${err.claim} claim is invalid`);
  }
}

/** Maps a jose failure to a rejection; key-set problems are ours (503), not the caller's. */
export function rejectionFor(err: unknown): TokenRejection {
  if (err instanceof errors.JWTExpired) return invalid('expired', 'the token has expired');
  if (err instanceof errors.JWTClaimValidationFailed) return claimRejection(err);
  if (err instanceof errors.JOSEAlgNotAllowed)
    return invalid('alg_not_allowed', 'the token algorithm is not allowed');
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return invalid('bad_signature', 'the token signature does not verify');
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
    return invalid('unknown_key', 'the token was not signed by a key of the authorization server');
  if (
    err instanceof errors.JWSInvalid ||
    err instanceof errors.JWTInvalid ||
    err instanceof errors.JOSENotSupported
  )
    return invalid('malformed', 'the token is not a valid JWT');
  return reject(503, undefined, 'keys_unavailable', 'the authorization server keys are unavailable');
}

/** iat in the future beyond the skew: jose checks iat only with maxTokenAge, so we do it here. */
function issuedInFuture(claims: JWTPayload, nowSeconds: number): boolean {
  return typeof claims.iat === 'number' && claims.iat > nowSeconds + CLOCK_SKEW_SECONDS;
}

/** Verifies a JWT access token; never trusts anything in it before the signature verifies. */
export async function validateJwt(token: string, o: JwtValidatorOptions): Promise<Validated> {
  try {
    const { payload } = await jwtVerify(token, o.keys, {
      issuer: o.issuer,
      audience: o.audience,
      algorithms: ALLOWED_ALGORITHMS,
      typ: 'at+jwt',
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_SKEW_SECONDS,
      currentDate: new Date(o.now()),
    });
    if (issuedInFuture(payload, Math.floor(o.now() / 1000)))
      return invalid('not_yet_valid', 'the token was issued in the future');
    return { ok: true, claims: payload };
  } catch (err) {
    return rejectionFor(err);
  }
}
