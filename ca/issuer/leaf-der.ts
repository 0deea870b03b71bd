// The issuance fast path: X.509-SVID leaves as DER, built from parts pre-encoded once per
// signing CA with the @peculiar/asn1-x509 schemas (via template.ts, the single source of what a
// leaf says) and the few per-leaf parts (serial, validity, key, SAN, SKI) spliced in.
// On creation the encoder proves itself: its output must equal the schema path byte for byte
// and its signature must verify under the issuing certificate.
import { createHash, createPublicKey, sign, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  type TBSCertificate,
} from '@peculiar/asn1-x509';
import { TetherError } from '../../common/errors.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import { bitStringBytes, children, readOnly } from '../csr/der-reader.js';
import { asciiTlv, derTime, tlv } from './der-writer.js';
import type { SigningKey } from './signing-key.js';
import { buildLeafTemplate, type IssuerInfo, randomSerial } from './template.js';

export interface LeafParts {
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  /** SubjectPublicKeyInfo, DER, exactly as it goes into the certificate. */
  readonly spki: Uint8Array;
  readonly keyType: string;
  /** ms since the epoch; truncated to whole seconds. */
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface EncodedLeaf {
  readonly der: Buffer;
  /** Lowercase hex, as serialHex() reads it back. */
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

interface Fixed {
  readonly head: Buffer; // version [0] v3
  readonly algorithm: Buffer; // signature AlgorithmIdentifier
  readonly issuer: Buffer;
  readonly subject: Buffer;
  readonly basicConstraints: Buffer;
  readonly keyUsage: { readonly rsa: Buffer; readonly other: Buffer };
  readonly extKeyUsage: Buffer;
  readonly authorityKeyId: Buffer;
}

const VERSION_V3 = Buffer.from('a003020102', 'hex');
/** Extension { id-ce-subjectAltName, critical TRUE, ... } up to the OCTET STRING. */
const SAN_HEAD = Buffer.from('0603551d110101ff', 'hex');
/** Extension { id-ce-subjectKeyIdentifier, OCTET STRING { OCTET STRING (20) } }. */
const SKI_HEAD = Buffer.from('301d0603551d0e04160414', 'hex');
const PROBE_ID = 'spiffe://probe.invalid/leaf-encoder';

const seconds = (ms: number) => Math.floor(ms / 1000) * 1000;

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdOfSpki(spki: Uint8Array): Buffer {
  const [, key] = children(spki, readOnly(spki, 0, spki.byteLength, 0x30));
  return createHash('sha1').update(bitStringBytes(spki, key!)).digest();
}

function schemaTemplate(parts: LeafParts, issuer: IssuerInfo, signer: SigningKey, serial: Buffer) {
  const template = buildLeafTemplate(
    {
      spiffeId: parseSpiffeId(parts.spiffeId),
      dnsNames: parts.dnsNames,
      spki: parts.spki,
      keyType: parts.keyType,
      notBefore: new Date(parts.notBefore),
      notAfter: new Date(parts.notAfter),
    },
    issuer,
  );
  template.serialNumber = new Uint8Array(serial).buffer;
  template.signature = signer.algorithm;
  return template;
}

function extensionDer(template: TBSCertificate, oid: string): Buffer {
  const e = template.extensions?.find((x) => x.extnID === oid);
  if (!e) throw new TetherError('ERR_INTERNAL', `leaf template lacks extension ${oid}`);
  return Buffer.from(AsnConvert.serialize(e));
}

export class LeafEncoder {
  private constructor(
    private readonly fixed: Fixed,
    private readonly signer: SigningKey,
  ) {}

  /** Pre-encodes the CA's parts, then proves the encoder against the schema path and `issuerCert`. */
  static create(issuer: IssuerInfo, signer: SigningKey, issuerCert: X509Certificate): LeafEncoder {
    const spki = createPublicKey(signer.key).export({ type: 'spki', format: 'der' });
    const probe = (keyType: string) =>
      schemaTemplate(
        { spiffeId: PROBE_ID, dnsNames: ['probe.invalid'], spki, keyType, notBefore: 0, notAfter: 1000 },
        issuer,
        signer,
        Buffer.from(randomSerial()),
      );
    const ec = probe('ec');
    const encoder = new LeafEncoder(
      {
        head: VERSION_V3,
        algorithm: Buffer.from(AsnConvert.serialize(signer.algorithm)),
        issuer: Buffer.from(AsnConvert.serialize(ec.issuer)),
        subject: Buffer.from(AsnConvert.serialize(ec.subject)),
        basicConstraints: extensionDer(ec, id_ce_basicConstraints),
        keyUsage: {
          rsa: extensionDer(probe('rsa'), id_ce_keyUsage),
          other: extensionDer(ec, id_ce_keyUsage),
        },
        extKeyUsage: extensionDer(ec, id_ce_extKeyUsage),
        authorityKeyId: extensionDer(ec, id_ce_authorityKeyIdentifier),
      },
      signer,
    );
    encoder.selfTest(issuer, spki, issuerCert);
    return encoder;
  }

  /** The TBSCertificate DER for these parts and serial (17 bytes, see randomSerial). */
  tbs(parts: LeafParts, serial: Uint8Array): Buffer {
    const f = this.fixed;
    const names = [asciiTlv(0x86, parts.spiffeId), ...parts.dnsNames.map((d) => asciiTlv(0x82, d))];
    const san = tlv(0x30, [SAN_HEAD, tlv(0x04, [tlv(0x30, names)])]);
    const ski = Buffer.concat([SKI_HEAD, keyIdOfSpki(parts.spki)]);
    const extensions = tlv(0xa3, [
      tlv(0x30, [
        f.basicConstraints,
        parts.keyType === 'rsa' ? f.keyUsage.rsa : f.keyUsage.other,
        f.extKeyUsage,
        san,
        ski,
        f.authorityKeyId,
      ]),
    ]);
    const validity = tlv(0x30, [derTime(parts.notBefore), derTime(parts.notAfter)]);
    return tlv(0x30, [
      f.head,
      tlv(0x02, [serial]),
      f.algorithm,
      f.issuer,
      validity,
      f.subject,
      parts.spki,
      extensions,
    ]);
  }

  /** Encodes and signs a leaf; names must be printable ASCII (IA5String). */
  issue(parts: LeafParts): EncodedLeaf {
    const serial = Buffer.from(randomSerial());
    const whole = { ...parts, notBefore: seconds(parts.notBefore), notAfter: seconds(parts.notAfter) };
    let tbs: Buffer;
    try {
      tbs = this.tbs(whole, serial);
    } catch (err) {
      throw new TetherError('ERR_ISSUED_CERT_INVALID', 'a name cannot be encoded in a certificate', {
        cause: err,
      });
    }
    const signature = sign(this.signer.hash, tbs, this.signer.key);
    const der = tlv(0x30, [tbs, this.fixed.algorithm, tlv(0x03, [Buffer.of(0), signature])]);
    return { der, serial: serial.toString('hex'), notBefore: whole.notBefore, notAfter: whole.notAfter };
  }

  private selfTest(issuer: IssuerInfo, spki: Buffer, issuerCert: X509Certificate): void {
    const problems: string[] = [];
    for (const keyType of ['ec', 'rsa', 'ed25519']) {
      const parts = {
        spiffeId: PROBE_ID,
        dnsNames: ['a.probe.invalid', 'b.probe.invalid'],
        spki,
        keyType,
        notBefore: Date.UTC(2030, 0, 1),
        notAfter: Date.UTC(2060, 0, 1),
      };
      const serial = Buffer.from(randomSerial());
      const expected = AsnConvert.serialize(schemaTemplate(parts, issuer, this.signer, serial));
      if (!this.tbs(parts, serial).equals(Buffer.from(expected)))
        problems.push(`${keyType} leaf differs from the schema encoding`);
    }
    const now = Date.now();
    const probe = { spiffeId: PROBE_ID, dnsNames: [], spki, keyType: 'ec', notBefore: now, notAfter: now };
    const leaf = new X509Certificate(this.issue(probe).der);
    if (!leaf.checkIssued(issuerCert) || !leaf.verify(issuerCert.publicKey))
      problems.push('a probe leaf does not verify under the signing certificate');
    if (problems.length > 0)
      throw new TetherError('ERR_INTERNAL', `leaf encoder self-test failed: ${problems.join('; ')}`);
  }
}
