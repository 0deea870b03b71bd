// Kubernetes attestation: a projected service-account token (audience tether-ca) proves the
// caller runs as spiffe://<td>/ns/<namespace>/sa/<service-account>. The token is checked by a
// TokenVerifier (offline JWT or TokenReview); the namespace allow-list is applied here.
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import { parseWorkloadId, type SpiffeId } from '../../common/spiffe-id.js';
import type { Attestation, AttestationInput, Attestor } from './attestor.js';
import type { KubernetesIdentity } from './kubernetes-claims.js';
import type { TokenVerifier } from './kubernetes-jwt.js';

/** Projected tokens are a few hundred bytes to a few KiB; anything far larger is not one. */
const MAX_TOKEN_BYTES = 16_384;

export interface KubernetesAttestorOptions {
  readonly trustDomain: string;
  readonly verifier: TokenVerifier;
  /** Namespaces whose service accounts may obtain identities; empty = all. */
  readonly allowNamespaces: readonly string[];
  readonly log: Logger;
}

/** `spiffe://<td>/ns/<namespace>/sa/<service-account>` (design.md §3). */
export function kubernetesSpiffeId(
  trustDomain: string,
  id: Pick<KubernetesIdentity, 'namespace' | 'serviceAccount'>,
): SpiffeId {
  return parseWorkloadId(`spiffe://${trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`);
}

export class KubernetesAttestor implements Attestor {
  readonly name = 'kubernetes';
  private readonly allowed: ReadonlySet<string>;

  constructor(private readonly o: KubernetesAttestorOptions) {
    this.allowed = new Set(o.allowNamespaces);
  }

  handles(input: AttestationInput): boolean {
    return input.credential.kind === 'kubernetes_token';
  }

  async attest(input: AttestationInput): Promise<Attestation> {
    if (input.credential.kind !== 'kubernetes_token') throw new TetherError('ERR_INTERNAL', 'wrong attestor');
    const token = input.credential.token.trim();
    if (token === '') throw new TetherError('ERR_CREDENTIAL_MISSING', 'kubernetes_token is empty');
    if (token.length > MAX_TOKEN_BYTES)
      throw new TetherError(
        'ERR_CREDENTIAL_INVALID',
        'Kubernetes token refused: it is too large to be a service-account token',
      );
    const id = await this.o.verifier.verify(token, input.now);
    if (this.allowed.size > 0 && !this.allowed.has(id.namespace)) {
      throw new TetherError(
        'ERR_NAMESPACE_NOT_ALLOWED',
        `namespace ${id.namespace} is not allowed to obtain identities from this CA (kubernetes.allowNamespaces)`,
      );
    }
    this.o.log.debug(
      { namespace: id.namespace, serviceAccount: id.serviceAccount, pod: id.podName },
      'Kubernetes token verified',
    );
    return {
      spiffeId: kubernetesSpiffeId(this.o.trustDomain, id),
      dnsNames: [],
      maxTtlSeconds: null,
      attestor: this.name,
      redemption: null,
      presentedSerial: null,
    };
  }
}
