// Reads and checks a PKCS#10 CSR from an untrusted caller: well-formed DER, a signature that
// verifies with the enclosed key (proof of possession), and a key type we issue for. It reports
// what the CSR asks for; whether it may have that is decided later, by authorization.
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert, AsnParser } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  Extensions,
  id_ce_basicConstraints,
  id_ce_subjectAltName,
  SubjectAlternativeName,
} from '@peculiar/asn1-x509';
import * as asn1js from 'asn1js';
import { TetherError } from '../../common/errors.js';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

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

function malformed(reason: string, cause?: unknown): TetherError {
  return new TetherError('ERR_CSR_MALFORMED', `CSR is not a valid DER PKCS#10 request: ${reason}`, { cause });
}

function decode(der: Uint8Array): CertificationRequest {
  // The whole input must be exactly one DER structure: no trailing bytes smuggled along.
  let ber: ReturnType<typeof asn1js.fromBER>;
  try {
    ber = asn1js.fromBER(der);
  } catch (err) {
    // asn1js throws (instead of reporting) on some primitives, e.g. a malformed GeneralizedTime.
    throw malformed('undecodable', err);
  }
  if (ber.offset === -1) throw malformed(ber.result.error || 'undecodable');
  if (ber.offset !== der.byteLength) throw malformed('trailing bytes after the request');
  try {
    // Map the tree asn1js already decoded instead of decoding the bytes a second time.
    return AsnParser.fromASN(ber.result, CertificationRequest);
  } catch (err) {
    throw malformed('structure does not match PKCS#10', err);
  }
}

function describeKey(key: KeyObject): { keyType: CsrKeyType; keyDescription: string } {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'ec' && details.namedCurve === 'prime256v1')
    return { keyType: 'ec', keyDescription: 'ecdsa-p256' };
  if (type === 'ec' && details.namedCurve === 'secp384r1')
    return { keyType: 'ec', keyDescription: 'ecdsa-p384' };
  if (type === 'ed25519') return { keyType: 'ed25519', keyDescription: 'ed25519' };
  if (type === 'rsa' && (details.modulusLength ?? 0) >= 2048) {
    return { keyType: 'rsa', keyDescription: `rsa-${details.modulusLength}` };
  }
  const what =
    type === 'ec'
      ? `ECDSA curve ${details.namedCurve}`
      : type === 'rsa'
        ? `RSA-${details.modulusLength}`
        : type;
  throw new TetherError(
    'ERR_CSR_KEY_UNSUPPORTED',
    `CSR key ${what} is not accepted (use ECDSA P-256 or P-384, RSA of 2048 bits or more, or Ed25519)`,
  );
}

function readPublicKey(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (err) {
    throw new TetherError('ERR_CSR_KEY_UNSUPPORTED', 'CSR public key is not a supported or valid key', {
      cause: err,
    });
  }
}

function checkSignature(csr: CertificationRequest, key: KeyObject, keyType: CsrKeyType): void {
  const algorithm = SIGNATURE_ALGORITHMS[csr.signatureAlgorithm.algorithm];
  if (!algorithm) {
    throw new TetherError(
      'ERR_CSR_SIGNATURE_INVALID',
      `CSR signature algorithm ${csr.signatureAlgorithm.algorithm} is not accepted`,
    );
  }
  const [hash, sigKeyType] = algorithm;
  if (sigKeyType !== keyType) {
    throw new TetherError('ERR_CSR_SIGNATURE_INVALID', 'CSR signature algorithm does not match its key');
  }
  const info = csr.certificationRequestInfoRaw;
  if (!info) throw malformed('request info missing');
  let ok = false;
  try {
    ok = verify(hash, new Uint8Array(info), key, new Uint8Array(csr.signature));
  } catch (err) {
    throw new TetherError('ERR_CSR_SIGNATURE_INVALID', 'CSR signature does not verify with its public key', {
      cause: err,
    });
  }
  if (!ok)
    throw new TetherError('ERR_CSR_SIGNATURE_INVALID', 'CSR signature does not verify with its public key');
}

function requestedExtensions(csr: CertificationRequest): Extensions {
  const attr = csr.certificationRequestInfo.attributes.find((a) => a.type === EXTENSION_REQUEST);
  const value = attr?.values[0];
  if (!value) return new Extensions([]);
  try {
    return AsnConvert.parse(value, Extensions);
  } catch (err) {
    throw malformed('extensionRequest attribute is not a list of extensions', err);
  }
}

function readRequests(
  extensions: Extensions,
): Pick<ParsedCsr, 'requestedUris' | 'requestedDnsNames' | 'requestedIpAddresses' | 'requestsCa'> {
  const out = {
    requestedUris: [] as string[],
    requestedDnsNames: [] as string[],
    requestedIpAddresses: [] as string[],
    requestsCa: false,
  };
  try {
    for (const e of extensions) {
      if (e.extnID === id_ce_subjectAltName) {
        for (const n of AsnConvert.parse(e.extnValue.buffer, SubjectAlternativeName)) {
          if (n.uniformResourceIdentifier !== undefined) out.requestedUris.push(n.uniformResourceIdentifier);
          if (n.dNSName !== undefined) out.requestedDnsNames.push(n.dNSName);
          if (n.iPAddress !== undefined) out.requestedIpAddresses.push(n.iPAddress);
        }
      } else if (e.extnID === id_ce_basicConstraints) {
        out.requestsCa = AsnConvert.parse(e.extnValue.buffer, BasicConstraints).cA;
      }
    }
  } catch (err) {
    throw malformed('a requested extension cannot be decoded', err);
  }
  return out;
}

/** Parses and verifies a DER CSR. Throws a TetherError naming what is wrong. */
export function parseCsr(der: Uint8Array, maxBytes: number): ParsedCsr {
  if (der.byteLength === 0) throw new TetherError('ERR_CSR_MALFORMED', 'CSR is empty');
  if (der.byteLength > maxBytes) {
    throw new TetherError('ERR_CSR_TOO_LARGE', `CSR is ${der.byteLength} bytes; the limit is ${maxBytes}`);
  }
  const csr = decode(der);
  const spki = Buffer.from(AsnConvert.serialize(csr.certificationRequestInfo.subjectPKInfo));
  const publicKey = readPublicKey(spki);
  const { keyType, keyDescription } = describeKey(publicKey);
  checkSignature(csr, publicKey, keyType);
  return { spki, publicKey, keyType, keyDescription, ...readRequests(requestedExtensions(csr)) };
}
