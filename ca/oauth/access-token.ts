// JWT access tokens per RFC 9068 with the RFC 8705 §3.1 confirmation claim: building and signing
// them, and verifying our own (for introspection). All JWT work is jose's.
import { createLocalJWKSet, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { type ActiveSigner, TOKEN_SIGNING_ALG } from './signing-keys.js';

/** RFC 9068 §2.1 media type in the `typ` header. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  /** Space-separated; omitted when no scope was granted. */
  readonly scope?: string;
  readonly cnf: { readonly 'x5t#S256': string };
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
}

/** Signs the claims with the active key (header: alg ES256, typ at+jwt, kid). */
export function signAccessToken(claims: AccessTokenClaims, signer: ActiveSigner): Promise<string> {
  const { iss, sub, aud, jti, iat, nbf, exp, ...rest } = claims;
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: TOKEN_SIGNING_ALG, typ: ACCESS_TOKEN_TYP, kid: signer.kid })
    .setIssuer(iss)
    .setSubject(sub)
    .setAudience(aud)
    .setJti(jti)
    .setIssuedAt(iat)
    .setNotBefore(nbf)
    .setExpirationTime(exp)
    .sign(signer.key);
}

/**
 * Verifies a token we issued: signature by a published key, ES256 only, typ at+jwt, our issuer,
 * exp/iat/nbf against `nowMs`. Resolves to the claims, or null for anything else.
 */
export async function verifyOwnAccessToken(
  token: string,
  jwks: { keys: JWK[] },
  issuer: string,
  nowMs: number,
): Promise<JWTPayload | null> {
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer,
      algorithms: [TOKEN_SIGNING_ALG],
      typ: ACCESS_TOKEN_TYP,
      requiredClaims: ['exp', 'iat', 'sub', 'aud', 'jti', 'client_id'],
      currentDate: new Date(nowMs),
    });
    return payload;
  } catch {
    return null;
  }
}
