// Offline verification of a projected service-account token: signature (RS256/ES256) with the
// issuer's keys, then iss, aud, exp, nbf and the kubernetes.io claims. Every refusal says why.
import { decodeJwt, errors, jwtVerify } from 'jose';
import { TetherError } from '../../common/errors.js';
import { type KubernetesIdentity, readKubernetesClaims, refuseLegacyToken } from './kubernetes-claims.js';
import type { KeySource } from './kubernetes-keys.js';

export interface TokenVerifier {
  /** The identity the token proves, or ERR_CREDENTIAL_INVALID saying why not. */
  verify(token: string, nowMs: number): Promise<KubernetesIdentity>;
}

export interface JwtVerifierOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly keys: KeySource;
  /** Allowed clock skew for exp/nbf/iat. */
  readonly clockToleranceSeconds: number;
}

/** The algorithms a Kubernetes API server signs service-account tokens with. */
const ALGORITHMS = ['RS256', 'ES256'];

function invalid(message: string, cause?: unknown): TetherError {
  return new TetherError('ERR_CREDENTIAL_INVALID', `Kubernetes token refused: ${message}`, { cause });
}

function decodeUnverified(token: string): Record<string, unknown> {
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch (err) {
    throw invalid('not a JWT', err);
  }
}

/** Turns jose's errors into messages a caller can act on. */
function explain(err: unknown, o: JwtVerifierOptions, payload: Record<string, unknown>): TetherError {
  if (err instanceof TetherError) return err;
  if (err instanceof errors.JWTExpired) return invalid('the token has expired', err);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss')
      return invalid(`issuer ${String(payload['iss'])} is not the cluster issuer ${o.issuer}`, err);
    if (err.claim === 'aud')
      return invalid(`audience ${JSON.stringify(payload['aud'])} does not include ${o.audience}`, err);
    if (err.claim === 'nbf') return invalid('the token is not valid yet (nbf)', err);
    return invalid(`claim ${err.claim} is invalid: ${err.reason}`, err);
  }
  if (err instanceof errors.JOSEAlgNotAllowed)
    return invalid(`algorithm not allowed (only ${ALGORITHMS.join(', ')})`, err);
  if (err instanceof errors.JWKSNoMatchingKey)
    return invalid('it is signed by a key the cluster issuer does not publish', err);
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return invalid('the signature does not verify', err);
  return invalid('it is not a valid signed JWT', err);
}

export class JwtTokenVerifier implements TokenVerifier {
  constructor(private readonly o: JwtVerifierOptions) {}

  async verify(token: string, nowMs: number): Promise<KubernetesIdentity> {
    const payload = decodeUnverified(token);
    refuseLegacyToken(payload);
    // Checked again after the signature; first here, so a foreign cluster's token is named as such
    // rather than as "unknown key".
    if (payload['iss'] !== this.o.issuer)
      throw invalid(`issuer ${String(payload['iss'])} is not the cluster issuer ${this.o.issuer}`);
    try {
      const { payload: verified } = await this.verifyWithKeys(token, nowMs, false).catch((err: unknown) => {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        return this.verifyWithKeys(token, nowMs, true); // the cluster may have rotated its key
      });
      return readKubernetesClaims(verified as Record<string, unknown>);
    } catch (err) {
      throw explain(err, this.o, payload);
    }
  }

  private async verifyWithKeys(token: string, nowMs: number, refresh: boolean) {
    const getKey = await this.o.keys.keys(refresh);
    return jwtVerify(token, getKey, {
      issuer: this.o.issuer,
      audience: this.o.audience,
      algorithms: ALGORITHMS,
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: this.o.clockToleranceSeconds,
      currentDate: new Date(nowMs),
    });
  }
}
