// Builds the Kubernetes attestor from the CA config: TokenReview in cluster, or offline JWT
// verification with keys from a JWKS file or the issuer's OIDC discovery. Null when not enabled.
import { readFileSync } from 'node:fs';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logging.js';
import type { KubernetesConfig } from '../config/load.js';
import { KubernetesAttestor } from './kubernetes.js';
import type { KubernetesApi } from './kubernetes-api.js';
import { JwtTokenVerifier, type TokenVerifier } from './kubernetes-jwt.js';
import { DiscoveryKeySource, JwksFileKeySource } from './kubernetes-keys.js';
import { TokenReviewVerifier } from './kubernetes-token-review.js';

/** Tolerated clock skew between the CA and the cluster for exp/nbf/iat. */
const CLOCK_TOLERANCE_SECONDS = 30;

function verifierFor(
  k: KubernetesConfig,
  clock: Clock,
  api: () => Promise<KubernetesApi>,
): TokenVerifier | null {
  if (k.tokenReview) return new TokenReviewVerifier(api, k.audience);
  if (!k.issuer) return null;
  const keys = k.jwksFile
    ? new JwksFileKeySource(k.jwksFile)
    : new DiscoveryKeySource(
        k.issuer,
        k.issuerCaFile ? readFileSync(k.issuerCaFile, 'utf8') : undefined,
        () => clock.now(),
      );
  return new JwtTokenVerifier({
    issuer: k.issuer,
    audience: k.audience,
    keys,
    clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
  });
}

export function kubernetesAttestor(
  k: KubernetesConfig,
  o: { trustDomain: string; clock: Clock; log: Logger; api: () => Promise<KubernetesApi> },
): KubernetesAttestor | null {
  const verifier = verifierFor(k, o.clock, o.api);
  if (!verifier) return null;
  const mode = k.tokenReview ? 'tokenreview' : k.jwksFile ? 'jwks-file' : 'oidc-discovery';
  o.log.info(
    { mode, issuer: k.issuer, audience: k.audience, allowNamespaces: k.allowNamespaces },
    'Kubernetes attestation enabled',
  );
  return new KubernetesAttestor({
    trustDomain: o.trustDomain,
    verifier,
    allowNamespaces: k.allowNamespaces,
    log: o.log,
  });
}
