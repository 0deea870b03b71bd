// Checks what was just signed before it leaves the CA: it must verify under the signing CA and
// say exactly what we meant (identity, key, CA:false, validity inside the CA's).
import { X509Certificate } from 'node:crypto';
import { TetherError } from '../../common/errors.js';

export interface IssuedExpectation {
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly spki: Buffer;
  readonly issuer: X509Certificate;
}

function expectedSan(e: IssuedExpectation): string {
  return [`URI:${e.spiffeId}`, ...e.dnsNames.map((d) => `DNS:${d}`)].join(', ');
}

/** Parses and checks a freshly signed leaf; throws ERR_ISSUED_CERT_INVALID if anything is off. */
export function verifyIssued(der: Buffer, expected: IssuedExpectation): X509Certificate {
  const cert = new X509Certificate(der);
  const problems: string[] = [];
  if (!cert.verify(expected.issuer.publicKey))
    problems.push('signature does not verify under the signing CA');
  if (!cert.checkIssued(expected.issuer)) problems.push('issuer does not match the signing CA');
  if (cert.ca) problems.push('certificate is a CA');
  if (cert.subjectAltName !== expectedSan(expected))
    problems.push('subjectAltName differs from the attested identity');
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(expected.spki))
    problems.push('public key differs from the CSR');
  if (Date.parse(cert.validTo) > Date.parse(expected.issuer.validTo))
    problems.push('outlives the signing CA');
  if (problems.length > 0) {
    throw new TetherError(
      'ERR_ISSUED_CERT_INVALID',
      'the CA produced an invalid certificate and withheld it',
      {
        cause: new Error(problems.join('; ')),
      },
    );
  }
  return cert;
}
