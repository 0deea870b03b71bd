// Builds the TBSCertificate for leaves (X.509-SVIDs, design.md §3) and for CA certificates.
// Everything that decides what a certificate says lives here; signing lives in sign.ts.
import { createHash, randomFillSync } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  GeneralSubtree,
  GeneralSubtrees,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  type Name,
  NameConstraints,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import type { SpiffeId } from '../../common/spiffe-id.js';
import { emptySubject } from './names.js';

/** What the issuing CA contributes to a certificate it signs. */
export interface IssuerInfo {
  readonly subject: Name;
  readonly subjectKeyId: Uint8Array;
}

export interface LeafTemplateInput {
  readonly spiffeId: SpiffeId;
  readonly dnsNames: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** SubjectPublicKeyInfo, DER. */
  readonly spki: Uint8Array;
  readonly keyType: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CaTemplateInput {
  readonly subject: Name;
  readonly spki: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Omit for an unconstrained root; 0 for an intermediate that signs only leaves. */
  readonly pathLength?: number;
  /** Restricts URI SANs below this CA to the trust domain (RFC 5280 §4.2.1.10). */
  readonly permittedTrustDomain?: string;
}

/** CSPRNG output drawn in blocks: one randomFillSync per 240 serials instead of one per leaf. */
const serialPool = Buffer.alloc(17 * 240);
let serialPoolAt = serialPool.length;

/** 17 random bytes, first byte in 0x01..0x7f: positive, minimal DER, > 128 bits of entropy. */
export function randomSerial(): ArrayBuffer {
  if (serialPoolAt === serialPool.length) {
    randomFillSync(serialPool);
    serialPoolAt = 0;
  }
  const serial = new Uint8Array(serialPool.subarray(serialPoolAt, serialPoolAt + 17)); // a copy
  serialPool.fill(0, serialPoolAt, serialPoolAt + 17); // each block of randomness is used once
  serialPoolAt += 17;
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  return serial.buffer;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function subjectKeyIdFor(spki: Uint8Array): Uint8Array {
  const info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
  return createHash('sha1').update(new Uint8Array(info.subjectPublicKey)).digest();
}

function ext(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function keyIdExtensions(spki: Uint8Array, issuer: IssuerInfo | null): Extension[] {
  const out = [ext(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(subjectKeyIdFor(spki)))];
  if (issuer) {
    const keyIdentifier = new KeyIdentifier(issuer.subjectKeyId);
    out.push(ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier })));
  }
  return out;
}

function leafKeyUsage(keyType: string): KeyUsage {
  // RSA keys may also carry TLS 1.2 RSA key transport; EC and Ed25519 keys only sign.
  const flags = KeyUsageFlags.digitalSignature | (keyType === 'rsa' ? KeyUsageFlags.keyEncipherment : 0);
  return new KeyUsage(flags);
}

function tbs(
  subject: Name,
  issuer: Name,
  input: { spki: Uint8Array; notBefore: Date; notAfter: Date },
  extensions: Extension[],
): TBSCertificate {
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: randomSerial(),
    issuer,
    subject,
    validity: new Validity({ notBefore: input.notBefore, notAfter: input.notAfter }),
    subjectPublicKeyInfo: AsnConvert.parse(input.spki, SubjectPublicKeyInfo),
    extensions: new Extensions(extensions),
  });
}

/**
 * An X.509-SVID: empty subject, exactly one URI SAN (critical, since the subject is empty),
 * CA:false, digitalSignature, serverAuth+clientAuth, SKI/AKI, random serial.
 */
export function buildLeafTemplate(input: LeafTemplateInput, issuer: IssuerInfo): TBSCertificate {
  const names = [
    new GeneralName({ uniformResourceIdentifier: input.spiffeId.toString() }),
    ...input.dnsNames.map((dNSName) => new GeneralName({ dNSName })),
    ...(input.ipAddresses ?? []).map((iPAddress) => new GeneralName({ iPAddress })),
  ];
  const extensions = [
    ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    ext(id_ce_keyUsage, true, leafKeyUsage(input.keyType)),
    ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
    ext(id_ce_subjectAltName, true, new SubjectAlternativeName(names)),
    ...keyIdExtensions(input.spki, issuer),
  ];
  return tbs(emptySubject(), issuer.subject, input, extensions);
}

/** A CA certificate: self-signed when `issuer` is null, otherwise signed by that CA. */
export function buildCaTemplate(input: CaTemplateInput, issuer: IssuerInfo | null): TBSCertificate {
  const constraints = new BasicConstraints({ cA: true });
  if (input.pathLength !== undefined) constraints.pathLenConstraint = input.pathLength;
  const extensions = [
    ext(id_ce_basicConstraints, true, constraints),
    ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
    ...keyIdExtensions(input.spki, issuer),
  ];
  if (input.permittedTrustDomain) {
    // For URIs the constraint matches the host part, i.e. the SPIFFE trust domain.
    const permitted = new GeneralSubtrees([
      new GeneralSubtree({
        base: new GeneralName({ uniformResourceIdentifier: input.permittedTrustDomain }),
      }),
    ]);
    extensions.push(ext(id_ce_nameConstraints, true, new NameConstraints({ permittedSubtrees: permitted })));
  }
  return tbs(input.subject, issuer?.subject ?? input.subject, input, extensions);
}
