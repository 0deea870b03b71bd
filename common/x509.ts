// Reading certificates: identity (URI/DNS SANs), fingerprints and the RFC 8705 thumbprint.
// Parsing uses @peculiar/asn1-x509 schemas, never string-splitting Node's SAN text.
import { createHash, type X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Certificate,
  id_ce_basicConstraints,
  id_ce_subjectAltName,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';

/** Names in a certificate's subjectAltName extension. */
export interface SanNames {
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
}

/** Reads the SAN extension of a DER certificate. */
export function readSans(der: Uint8Array): SanNames {
  const cert = AsnConvert.parse(der, Certificate);
  const ext = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectAltName);
  const names: SanNames = { uris: [], dnsNames: [], ipAddresses: [] };
  if (!ext) return names;
  const san = AsnConvert.parse(ext.extnValue.buffer, SubjectAlternativeName);
  for (const name of san) {
    if (name.uniformResourceIdentifier !== undefined) names.uris.push(name.uniformResourceIdentifier);
    if (name.dNSName !== undefined) names.dnsNames.push(name.dNSName);
    if (name.iPAddress !== undefined) names.ipAddresses.push(name.iPAddress);
  }
  return names;
}

/**
 * Whether basicConstraints says cA:true. Node's `X509Certificate.ca` is false for such a
 * certificate when its keyUsage lacks keyCertSign, but an X.509-SVID leaf must say cA:false.
 */
export function assertsCa(der: Uint8Array): boolean {
  const ext = AsnConvert.parse(der, Certificate).tbsCertificate.extensions?.find(
    (e) => e.extnID === id_ce_basicConstraints,
  );
  return ext ? AsnConvert.parse(ext.extnValue.buffer, BasicConstraints).cA : false;
}

/** Lowercase hex SHA-256 of the DER certificate (no colons). */
export function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** RFC 8705 §3.1 `x5t#S256`: base64url (no padding) SHA-256 of the DER certificate. */
export function x5tS256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}

/** The certificate's serial as lowercase hex without leading zero bytes or colons. */
export function serialHex(cert: X509Certificate): string {
  return cert.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
}
