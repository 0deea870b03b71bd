// Authorization: may this attested caller have the certificate its CSR describes? The identity
// always comes from attestation; the CSR can only ask for a subset of what was attested.
import { TetherError } from '../../common/errors.js';
import type { Attestation } from '../attestation/attestor.js';
import type { ParsedCsr } from '../csr/parse-csr.js';
import type { Store } from '../store/store.js';

/** Refuses CSRs that ask for something no workload certificate may carry. */
export function checkCsrShape(csr: ParsedCsr): void {
  if (csr.requestsCa) {
    throw new TetherError(
      'ERR_CSR_CA_REQUESTED',
      'CSR asks for a CA certificate (basicConstraints CA:true); workloads get CA:false',
    );
  }
}

/** The DNS names the leaf will carry (those requested, each one allowed), or a refusal. */
export async function authorize(
  attested: Attestation,
  csr: ParsedCsr,
  trustDomain: string,
  store: Store,
): Promise<string[]> {
  const id = attested.spiffeId.toString();
  if (attested.spiffeId.trustDomain !== trustDomain) {
    throw new TetherError(
      'ERR_TRUST_DOMAIN_MISMATCH',
      `identity ${id} is not in this CA's trust domain ${trustDomain}`,
    );
  }
  const denied = await store.isDenied(id, attested.presentedSerial);
  if (denied) {
    const what = denied.kind === 'serial' ? `certificate serial ${denied.value}` : `identity ${id}`;
    throw new TetherError('ERR_IDENTITY_DENIED', `${what} is on the CA's deny list`);
  }
  const otherUri = csr.requestedUris.find((u) => u !== id);
  if (otherUri !== undefined || csr.requestedUris.length > 1) {
    throw new TetherError(
      'ERR_CSR_IDENTITY_MISMATCH',
      `CSR asks for URI SAN ${otherUri ?? csr.requestedUris.join(', ')} but the caller is attested as ${id}`,
    );
  }
  if (csr.requestedIpAddresses.length > 0) {
    throw new TetherError(
      'ERR_CSR_DNS_NOT_ALLOWED',
      'CSR asks for IP address SANs; workload certificates do not carry them',
    );
  }
  const allowed = new Set(attested.dnsNames.map((d) => d.toLowerCase()));
  const notAllowed = csr.requestedDnsNames.filter((d) => !allowed.has(d.toLowerCase()));
  if (notAllowed.length > 0) {
    throw new TetherError(
      'ERR_CSR_DNS_NOT_ALLOWED',
      `CSR asks for DNS names ${id} may not have: ${notAllowed.join(', ')}`,
    );
  }
  return [...new Set(csr.requestedDnsNames.map((d) => d.toLowerCase()))];
}
