// The attestor contract: given the caller's credential and connection, say who the caller may
// be (identity, DNS names, TTL cap) — not a yes/no. New attestors (Kubernetes) plug in here.
import type { X509Certificate } from 'node:crypto';
import type { SpiffeId } from '../../common/spiffe-id.js';
import type { Redemption } from '../store/store.js';

export type Credential =
  | { readonly kind: 'join_token'; readonly token: string }
  | { readonly kind: 'kubernetes_token'; readonly token: string }
  | { readonly kind: 'none' };

export interface Peer {
  /** "ip:port" of the caller, for logs and per-source limits. */
  readonly address: string;
  /** The leaf the caller presented over mTLS, if any (not yet verified). */
  readonly certificate: X509Certificate | null;
}

export interface AttestationInput {
  readonly credential: Credential;
  readonly peer: Peer;
  readonly now: number;
}

/** What an attested caller may have. */
export interface Attestation {
  readonly spiffeId: SpiffeId;
  readonly dnsNames: readonly string[];
  readonly maxTtlSeconds: number | null;
  readonly attestor: string;
  /** Consumed atomically with recording the issued certificate. */
  readonly redemption: Redemption | null;
  /** Serial of the certificate presented for renewal (checked against the deny list). */
  readonly presentedSerial: string | null;
}

export interface Attestor {
  readonly name: string;
  /** True if this attestor handles the request's kind of credential. */
  handles(input: AttestationInput): boolean;
  /** Attests or throws ERR_CREDENTIAL_INVALID / ERR_CREDENTIAL_MISSING. */
  attest(input: AttestationInput): Promise<Attestation>;
}
