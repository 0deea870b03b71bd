// Reads and checks a PKCS#10 CSR from an untrusted caller: well-formed DER, a signature that
// verifies with the enclosed key (proof of possession), and a key type we issue for. It reports
// what the CSR asks for; whether it may have that is decided later, by authorization.
// Hot path: strict DER framing (der-reader.ts) instead of an object tree; parse-csr.test.ts
// checks it agrees with the @peculiar/asn1-csr schema on accepted and refused input.
import { type KeyObject, verify } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Name } from '@peculiar/asn1-x509';
import { TetherError } from '../../common/errors.js';
import { describeKey, importSpki } from './csr-key.js';
import {
  bitStringBytes,
  bytesOf,
  checkTree,
  children,
  DerError,
  expectTag,
  readOnly,
  type Tlv,
} from './der-reader.js';
import { oidOf } from './oid.js';
import { readExtensionRequest } from './requested-extensions.js';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SEQUENCE = 0x30;

/** Signature algorithms accepted on CSRs: OID -> [node hash, key type]. */
const SIGNATURE_ALGORITHMS: Record<string, [string | null, string]> = {
  '1.2.840.10045.4.3.2': ['sha256', 'ec'],
  '1.2.840.10045.4.3.3': ['sha384', 'ec'],
  '1.2.840.10045.4.3.4': ['sha512', 'ec'],
  '1.2.840.113549.1.1.11': ['sha256', 'rsa'],
  '1.2.840.113549.1.1.12': ['sha384', 'rsa'],
  '1.2.840.113549.1.1.13': ['sha512', 'rsa'],
  '1.3.101.112': [null, 'ed25519'],
};

export type CsrKeyType = 'ec' | 'rsa' | 'ed25519';

/** What a verified CSR carries. */
export interface ParsedCsr {
  readonly spki: Buffer;
  readonly publicKey: KeyObject;
  readonly keyType: CsrKeyType;
  /** e.g. "ecdsa-p256", "rsa-2048", "ed25519" — for logs and errors. */
  readonly keyDescription: string;
  readonly requestedUris: string[];
  readonly requestedDnsNames: string[];
  readonly requestedIpAddresses: string[];
  readonly requestsCa: boolean;
}

/** The parts of a CSR the checks need, as views into the input. */
interface CsrParts {
  readonly info: Uint8Array;
  readonly spki: Uint8Array;
  readonly attributes: { type: string; values: Uint8Array[] }[];
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
}

function malformed(reason: string, cause?: unknown): TetherError {
  return new TetherError('ERR_CSR_MALFORMED', `CSR is not a valid DER PKCS#10 request: ${reason}`, { cause });
}

function readAttributes(der: Uint8Array, set: Tlv | undefined): CsrParts['attributes'] {
  // [0] IMPLICIT SET OF Attribute; each Attribute is SEQUENCE { type OID, values SET OF ANY }.
  return children(der, expectTag(set, 0xa0)).map((attr) => {
    const [type, values, extra] = children(der, expectTag(attr, SEQUENCE));
    if (extra) throw new DerError('attribute has extra elements');
    return {
      type: oidOf(der, expectTag(type, 0x06)),
      values: children(der, expectTag(values, 0x31)).map((v) => bytesOf(der, v)),
    };
  });
}

function checkSubject(der: Uint8Array, subject: Tlv): void {
  expectTag(subject, SEQUENCE);
  if (subject.end === subject.body) return; // the empty subject workloads send
  AsnConvert.parse(bytesOf(der, subject), Name); // a subject is ignored, but must be a Name
}

/** SEQUENCE { AlgorithmIdentifier { OID, parameters? }, BIT STRING }; the key itself is node's to judge. */
function checkSpkiShape(der: Uint8Array, spki: Tlv | undefined): Uint8Array {
  const [algorithm, key, extra] = children(der, expectTag(spki, SEQUENCE));
  const [oid, parameters, more] = children(der, expectTag(algorithm, SEQUENCE));
  if (extra || more) throw new DerError('SubjectPublicKeyInfo has extra elements');
  oidOf(der, expectTag(oid, 0x06));
  if (parameters?.tag === 0x06) oidOf(der, parameters); // the named curve
  bitStringBytes(der, expectTag(key, 0x03)); // whole octets, as every accepted key type has
  return bytesOf(der, spki!);
}

function decode(der: Uint8Array): CsrParts {
  const csr = readOnly(der, 0, der.byteLength, SEQUENCE);
  checkTree(der, csr, 0, oidOf);
  const [info, sigAlg, signature, extra] = children(der, csr);
  if (extra) throw new DerError('extra elements after the signature');
  const [version, subject, spki, attributes, more] = children(der, expectTag(info, SEQUENCE));
  if (more) throw new DerError('extra elements in the request info');
  const v = expectTag(version, 0x02);
  if (v.end - v.body !== 1 || der[v.body] !== 0) throw new DerError('version is not v1 (0)');
  checkSubject(der, subject!);
  const [algorithm] = children(der, expectTag(sigAlg, SEQUENCE));
  return {
    info: bytesOf(der, info!),
    spki: checkSpkiShape(der, spki),
    attributes: readAttributes(der, attributes),
    signatureAlgorithm: oidOf(der, expectTag(algorithm, 0x06)),
    signature: bitStringBytes(der, expectTag(signature, 0x03)),
  };
}

function checkSignature(csr: CsrParts, key: KeyObject, keyType: CsrKeyType): void {
  const algorithm = SIGNATURE_ALGORITHMS[csr.signatureAlgorithm];
  if (!algorithm) {
    throw new TetherError(
      'ERR_CSR_SIGNATURE_INVALID',
      `CSR signature algorithm ${csr.signatureAlgorithm} is not accepted`,
    );
  }
  const [hash, sigKeyType] = algorithm;
  if (sigKeyType !== keyType) {
    throw new TetherError('ERR_CSR_SIGNATURE_INVALID', 'CSR signature algorithm does not match its key');
  }
  let ok = false;
  try {
    ok = verify(hash, csr.info, key, csr.signature);
  } catch (err) {
    throw new TetherError('ERR_CSR_SIGNATURE_INVALID', 'CSR signature does not verify with its public key', {
      cause: err,
    });
  }
  if (!ok)
    throw new TetherError('ERR_CSR_SIGNATURE_INVALID', 'CSR signature does not verify with its public key');
}

function decodeOrRefuse(der: Uint8Array): CsrParts {
  try {
    return decode(der);
  } catch (err) {
    throw malformed(err instanceof Error ? err.message : 'undecodable', err);
  }
}

function requests(csr: CsrParts) {
  const values = csr.attributes.find((a) => a.type === EXTENSION_REQUEST)?.values;
  try {
    return readExtensionRequest(values?.[0]);
  } catch (err) {
    throw malformed(`extensionRequest attribute cannot be decoded (${(err as Error).message})`, err);
  }
}

/** Parses and verifies a DER CSR. Throws a TetherError naming what is wrong. */
export function parseCsr(der: Uint8Array, maxBytes: number): ParsedCsr {
  if (der.byteLength === 0) throw new TetherError('ERR_CSR_MALFORMED', 'CSR is empty');
  if (der.byteLength > maxBytes) {
    throw new TetherError('ERR_CSR_TOO_LARGE', `CSR is ${der.byteLength} bytes; the limit is ${maxBytes}`);
  }
  const csr = decodeOrRefuse(der);
  const requested = requests(csr); // structure first: malformed input is malformed, signed or not
  const publicKey = importSpki(csr.spki);
  const { keyType, keyDescription } = describeKey(publicKey);
  checkSignature(csr, publicKey, keyType);
  return { spki: Buffer.from(csr.spki), publicKey, keyType, keyDescription, ...requested };
}
