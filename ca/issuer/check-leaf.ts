// Checks a fast-path leaf before it leaves the CA by reading its DER back, independently of the
// encoder: it must name exactly the attested identity, carry the CSR's key, be CA:false with
// the leaf key usages, chain by name and key id to the signing CA, and live inside the
// window we chose (never past the CA). The signing key's match with the CA certificate is
// proven once per signing CA (LeafEncoder self-test), not per leaf.
import type { X509Certificate } from 'node:crypto';
import { TetherError } from '../../common/errors.js';
import {
  asciiOf,
  bitStringBytes,
  bodyOf,
  bytesOf,
  children,
  DerError,
  expectTag,
  readOnly,
  sameBytes,
  type Tlv,
} from '../csr/der-reader.js';
import { oidOf } from '../csr/oid.js';
import { tlv } from './der-writer.js';
import { keyIdOfSpki } from './leaf-der.js';

export interface LeafExpectation {
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly spki: Uint8Array;
  readonly keyType: string;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** What a leaf must repeat from its issuing certificate; read once per CA. */
export interface IssuerFacts {
  readonly subject: Buffer;
  readonly authorityKeyId: Buffer;
  readonly notAfter: number;
}

const hex = (s: string) => Buffer.from(s, 'hex');
/** Literal encodings of the extensions design.md §3 fixes for every X.509-SVID. */
const FIXED: Record<string, Buffer> = {
  '2.5.29.19': hex('300c0603551d130101ff04023000'), // basicConstraints critical, CA:false
  '2.5.29.37': hex('301d0603551d250416301406082b0601050507030106082b06010505070302'), // serverAuth, clientAuth
};
const KEY_USAGE = {
  rsa: hex('300e0603551d0f0101ff0404030205a0'), // critical digitalSignature, keyEncipherment
  other: hex('300e0603551d0f0101ff040403020780'), // critical digitalSignature
};
const EXTENSIONS = ['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17', '2.5.29.14', '2.5.29.35'].join();
const VERSION_V3 = hex('a003020102');
const EMPTY_NAME = hex('3000');

/** Reads subject, SKI and expiry of the signing certificate. */
export function issuerFactsOf(cert: X509Certificate): IssuerFacts {
  const der = cert.raw;
  const [tbs] = children(der, readOnly(der, 0, der.length, 0x30));
  const fields = children(der, expectTag(tbs, 0x30));
  const exts = children(der, expectTag(children(der, expectTag(fields[7], 0xa3))[0], 0x30));
  const ski = exts.map((e) => children(der, e)).find((p) => oidOf(der, p[0]!) === '2.5.29.14');
  const value = ski?.at(-1);
  if (!value) throw new TetherError('ERR_INTERNAL', 'the signing CA certificate has no subjectKeyIdentifier');
  const keyId = readOnly(der, value.body, value.end, 0x04);
  const aki = tlv(0x04, [tlv(0x30, [tlv(0x80, [bodyOf(der, keyId)])])]);
  return {
    subject: Buffer.from(bytesOf(der, fields[5]!)),
    authorityKeyId: tlv(0x30, [hex('0603551d23'), aki]),
    notAfter: Date.parse(cert.validTo),
  };
}

function timeOf(der: Uint8Array, t: Tlv): number {
  const s = asciiOf(der, t);
  const m = (
    t.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/ : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/
  ).exec(s);
  if (!m || (t.tag !== 0x17 && t.tag !== 0x18)) throw new DerError('not a DER time');
  const n = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = t.tag === 0x17 ? (n[0] < 50 ? 2000 + n[0] : 1900 + n[0]) : n[0];
  return Date.UTC(year, n[1] - 1, n[2], n[3], n[4], n[5]);
}

function sanOf(der: Uint8Array, ext: Tlv[]): string[] {
  const value = expectTag(ext[2], 0x04);
  const names = children(der, readOnly(der, value.body, value.end, 0x30));
  return names.map((n) => `${n.tag === 0x86 ? 'URI' : n.tag === 0x82 ? 'DNS' : 'other'}:${asciiOf(der, n)}`);
}

function problemsIn(der: Buffer, e: LeafExpectation, issuer: IssuerFacts): string[] {
  const p: string[] = [];
  const [tbs, outerAlg, sig] = children(der, readOnly(der, 0, der.length, 0x30));
  const f = children(der, expectTag(tbs, 0x30));
  if (f.length !== 8 || !sameBytes(bytesOf(der, f[0]!), VERSION_V3)) p.push('not a v3 certificate');
  if (der.toString('hex', f[1]!.body, expectTag(f[1], 0x02).end) !== e.serial) p.push('serial differs');
  if (!sameBytes(bytesOf(der, f[2]!), bytesOf(der, outerAlg!))) p.push('signature algorithms differ');
  if (bitStringBytes(der, sig!).length === 0) p.push('signature is empty');
  if (!sameBytes(bytesOf(der, f[3]!), issuer.subject)) p.push('issuer does not match the signing CA');
  const [from, to] = children(der, expectTag(f[4], 0x30));
  if (timeOf(der, from!) !== e.notBefore || timeOf(der, to!) !== e.notAfter) p.push('validity differs');
  if (e.notAfter > issuer.notAfter) p.push('outlives the signing CA');
  if (!sameBytes(bytesOf(der, f[5]!), EMPTY_NAME)) p.push('subject is not empty');
  if (!sameBytes(bytesOf(der, f[6]!), e.spki)) p.push('public key differs from the CSR');
  const exts = children(der, expectTag(children(der, expectTag(f[7], 0xa3))[0], 0x30));
  const ids = exts.map((x) => oidOf(der, children(der, x)[0]!));
  if (ids.join() !== EXTENSIONS) p.push(`unexpected extensions ${ids.join(', ')}`);
  const ext = (i: number) => bytesOf(der, exts[i]!);
  for (const [i, id] of [
    [0, '2.5.29.19'],
    [2, '2.5.29.37'],
  ] as const)
    if (!sameBytes(ext(i), FIXED[id]!)) p.push(`extension ${id} differs`);
  if (!sameBytes(ext(1), e.keyType === 'rsa' ? KEY_USAGE.rsa : KEY_USAGE.other)) p.push('keyUsage differs');
  const san = children(der, exts[3]!);
  const expectedSan = [`URI:${e.spiffeId}`, ...e.dnsNames.map((d) => `DNS:${d}`)];
  if (san[1]?.tag !== 0x01 || der[san[1].body] !== 0xff) p.push('subjectAltName is not critical');
  if (sanOf(der, san).join('\n') !== expectedSan.join('\n'))
    p.push('subjectAltName differs from the attested identity');
  const skiValue = expectTag(children(der, exts[4]!).at(-1), 0x04);
  const ski = bodyOf(der, readOnly(der, skiValue.body, skiValue.end, 0x04));
  if (!sameBytes(ski, keyIdOfSpki(e.spki))) p.push('subjectKeyIdentifier differs');
  if (!sameBytes(ext(5), issuer.authorityKeyId)) p.push('authorityKeyIdentifier differs');
  return p;
}

/** Reads a freshly signed fast-path leaf; throws ERR_ISSUED_CERT_INVALID if anything is off. */
export function checkIssuedLeaf(der: Buffer, expected: LeafExpectation, issuer: IssuerFacts): void {
  let problems: string[];
  try {
    problems = problemsIn(der, expected, issuer);
  } catch (err) {
    problems = [`unreadable: ${(err as Error).message}`];
  }
  if (problems.length > 0) {
    throw new TetherError(
      'ERR_ISSUED_CERT_INVALID',
      'the CA produced an invalid certificate and withheld it',
      {
        cause: new Error(problems.join('; ')),
      },
    );
  }
}
