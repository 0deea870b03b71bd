// Per-source blocking shared with gRPC attestation: failed client authentications at the token
// server count in the same FailureTracker under the same keys (source address, certificate serial).
import { X509Certificate } from 'node:crypto';
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import { credentialKeyOf, sourceOf } from '../issuer/issuer.js';
import type { FailureTracker } from '../limits/failure-tracker.js';
import type { CaMetrics } from '../ops/metrics.js';

/** The attestor label failed token-server authentications are counted under. */
export const TLS_CLIENT_AUTH = 'tls_client_auth';

export class SourceGuard {
  constructor(
    private readonly failures: FailureTracker,
    private readonly metrics: CaMetrics,
    private readonly log: Logger,
  ) {}

  /** Throws ERR_SOURCE_BLOCKED while the caller's address or certificate is blocked. */
  check(address: string, leafDer: Buffer | null): void {
    const certKey = certificateKey(address, leafDer);
    const blockedMs = Math.max(
      this.failures.blockedFor(`source:${sourceOf(address)}`),
      certKey ? this.failures.blockedFor(certKey) : 0,
    );
    if (blockedMs <= 0) return;
    this.metrics.rateLimited.inc({ limit: 'source_blocked' });
    throw new TetherError(
      'ERR_SOURCE_BLOCKED',
      `too many failed authentications from this source; retry in ${Math.ceil(blockedMs / 1000)} s`,
    );
  }

  /** Seconds left on the caller's block (for Retry-After), at least 1. */
  retryAfterSeconds(address: string, leafDer: Buffer | null): number {
    const certKey = certificateKey(address, leafDer);
    const ms = Math.max(
      this.failures.blockedFor(`source:${sourceOf(address)}`),
      certKey ? this.failures.blockedFor(certKey) : 0,
    );
    return Math.max(1, Math.ceil(ms / 1000));
  }

  /** Counts one failed client authentication against the source (and the certificate, if any). */
  recordFailure(address: string, leafDer: Buffer | null): void {
    const certKey = certificateKey(address, leafDer);
    this.metrics.attestationFailures.inc({ attestor: TLS_CLIENT_AUTH });
    const source = sourceOf(address);
    if (this.failures.recordFailure(`source:${source}`))
      this.log.warn(
        { source, attestor: TLS_CLIENT_AUTH },
        'source blocked after repeated failed attestations',
      );
    if (certKey && this.failures.recordFailure(certKey))
      this.log.warn({ credential: certKey }, 'certificate blocked after repeated failed attestations');
    this.metrics.blockedSources.set(this.failures.blocked().length);
  }
}

/** The same per-certificate key the gRPC issuer uses (ca/issuer/issuer.ts credentialKeyOf). */
function certificateKey(address: string, leafDer: Buffer | null): string | null {
  if (!leafDer) return null;
  try {
    return credentialKeyOf({ kind: 'none' }, { address, certificate: new X509Certificate(leafDer) });
  } catch {
    return null;
  }
}
