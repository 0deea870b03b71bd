// An in-memory test PKI (root → intermediate → leaf) built with the production templates and
// signer. Keys are generated at run time; nothing here is a committed fixture.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, type Extension } from '@peculiar/asn1-x509';
import { caSubject } from '../../ca/issuer/names.js';
import { signCertificate } from '../../ca/issuer/sign.js';
import { signingKeyFor } from '../../ca/issuer/signing-key.js';
import {
  buildCaTemplate,
  buildLeafTemplate,
  type IssuerInfo,
  subjectKeyIdFor,
} from '../../ca/issuer/template.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';

export const HOUR_MS = 3_600_000;

export interface TestCa {
  readonly der: Buffer;
  readonly key: KeyObject;
  readonly info: IssuerInfo;
}

export function ecKey(curve: 'prime256v1' | 'secp384r1' = 'prime256v1'): {
  privateKey: KeyObject;
  publicKey: KeyObject;
} {
  return generateKeyPairSync('ec', { namedCurve: curve });
}

export function spkiOf(publicKey: KeyObject): Buffer {
  return publicKey.export({ type: 'spki', format: 'der' });
}

function caInfo(der: Buffer, spki: Uint8Array): IssuerInfo {
  return {
    subject: AsnConvert.parse(der, Certificate).tbsCertificate.subject,
    subjectKeyId: subjectKeyIdFor(spki),
  };
}

/** A self-signed root valid for [notBefore, notAfter]. */
export function makeRoot(notBefore: Date, notAfter: Date, pair = ecKey()): TestCa {
  const spki = spkiOf(pair.publicKey);
  const template = buildCaTemplate(
    { subject: caSubject('Test Root', 'root-1'), spki, notBefore, notAfter },
    null,
  );
  const der = signCertificate(template, signingKeyFor(pair.privateKey));
  return { der, key: pair.privateKey, info: caInfo(der, spki) };
}

/** An intermediate under `parent`, pathLen 0, constrained to `trustDomain`; `id` makes its subject unique. */
export function makeIntermediate(
  parent: TestCa,
  trustDomain: string,
  notBefore: Date,
  notAfter: Date,
  id = 'int-1',
): TestCa {
  const pair = ecKey();
  const spki = spkiOf(pair.publicKey);
  const template = buildCaTemplate(
    {
      subject: caSubject('Test Intermediate', id),
      spki,
      notBefore,
      notAfter,
      pathLength: 0,
      permittedTrustDomain: trustDomain,
    },
    parent.info,
  );
  const der = signCertificate(template, signingKeyFor(parent.key));
  return { der, key: pair.privateKey, info: caInfo(der, spki) };
}

/** A leaf for `spiffeId` signed by `issuer`. */
export function makeLeaf(
  issuer: TestCa,
  spiffeId: string,
  opts: { publicKey?: KeyObject; keyType?: string; dnsNames?: string[]; notBefore: Date; notAfter: Date },
): Buffer {
  const publicKey = opts.publicKey ?? ecKey().publicKey;
  const template = buildLeafTemplate(
    {
      spiffeId: parseSpiffeId(spiffeId),
      dnsNames: opts.dnsNames ?? [],
      spki: spkiOf(publicKey),
      keyType: opts.keyType ?? 'ec',
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
    },
    issuer.info,
  );
  return signCertificate(template, signingKeyFor(issuer.key));
}

/** The parsed ASN.1 certificate and a lookup for one extension by OID. */
export function asn1(der: Uint8Array): { cert: Certificate; ext: (oid: string) => Extension | undefined } {
  const cert = AsnConvert.parse(der, Certificate);
  return { cert, ext: (oid) => cert.tbsCertificate.extensions?.find((e) => e.extnID === oid) };
}
