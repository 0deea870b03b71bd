// PSD2 admission pieces for inbound listeners with `allow: { psd2Roles, organizationIds }`: the
// verified peer's eIDAS facts (parsed once per connection) and the x-tether-* headers carrying
// them to the workload. Client-sent copies of these headers are always stripped.
import { type CertificateFacts, certificateFacts } from '../psd2/certificate-facts.js';

export const PSD2_HEADERS = ['x-tether-org-id', 'x-tether-psd2-roles', 'x-tether-nca'] as const;

export interface Psd2Peer {
  readonly facts: CertificateFacts;
  /** Headers for the workload, built once per connection. */
  readonly headers: Readonly<Record<string, string>>;
}

/** Header-safe text: printable ASCII as is, anything else percent-encoded (never CR/LF). */
function headerSafe(value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

export function psd2Headers(facts: CertificateFacts): Record<string, string> {
  const h: Record<string, string> = {};
  if (facts.organizationId) h['x-tether-org-id'] = headerSafe(facts.organizationId);
  if (facts.psd2Roles.length > 0) h['x-tether-psd2-roles'] = headerSafe(facts.psd2Roles.join(','));
  if (facts.ncaId) h['x-tether-nca'] = headerSafe(facts.ncaId);
  return h;
}

/** The facts of a verified peer certificate, or why they cannot be read. */
export function psd2PeerOf(raw: Buffer): Psd2Peer | { error: string } {
  try {
    const facts = certificateFacts(raw);
    return { facts, headers: psd2Headers(facts) };
  } catch {
    return { error: 'malformed_qc_statements' };
  }
}
