// Builds the PKCS#10 CSR a workload sends to the CA, signed with its in-memory key. The CA
// decides the identity; the CSR only proves possession of the key (and may request DNS names).
import { createPublicKey, type KeyObject, sign } from 'node:crypto';
import { CertificationRequest, CertificationRequestInfo } from '@peculiar/asn1-csr';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  Attribute,
  BasicConstraints,
  Extension,
  Extensions,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_subjectAltName,
  Name,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
} from '@peculiar/asn1-x509';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';

export interface CsrRequest {
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  /** Only for negative tests: asks for basicConstraints CA:true. */
  readonly requestCa?: boolean;
}

function algorithmFor(key: KeyObject): { id: AlgorithmIdentifier; hash: string | null } {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve === 'secp384r1'
      ? { id: new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.3' }), hash: 'sha384' }
      : { id: new AlgorithmIdentifier({ algorithm: '1.2.840.10045.4.3.2' }), hash: 'sha256' };
  }
  if (type === 'rsa') {
    const parameters = new Uint8Array([0x05, 0x00]).buffer;
    return {
      id: new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters }),
      hash: 'sha256',
    };
  }
  if (type === 'ed25519') return { id: new AlgorithmIdentifier({ algorithm: '1.3.101.112' }), hash: null };
  throw new Error(`cannot build a CSR with a ${type} key`);
}

function requestedExtensions(req: CsrRequest): Extension[] {
  const out: Extension[] = [];
  const names = [
    ...(req.uris ?? []).map((u) => new GeneralName({ uniformResourceIdentifier: u })),
    ...(req.dnsNames ?? []).map((d) => new GeneralName({ dNSName: d })),
  ];
  if (names.length > 0) {
    const value = AsnConvert.serialize(new SubjectAlternativeName(names));
    out.push(
      new Extension({ extnID: id_ce_subjectAltName, critical: false, extnValue: new OctetString(value) }),
    );
  }
  if (req.requestCa) {
    const value = AsnConvert.serialize(new BasicConstraints({ cA: true }));
    out.push(
      new Extension({ extnID: id_ce_basicConstraints, critical: true, extnValue: new OctetString(value) }),
    );
  }
  return out;
}

/** Builds and signs a DER CSR for `privateKey`. */
export function buildCsr(privateKey: KeyObject, req: CsrRequest = {}): Buffer {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const extensions = requestedExtensions(req);
  const attributes = extensions.length
    ? [new Attribute({ type: EXTENSION_REQUEST, values: [AsnConvert.serialize(new Extensions(extensions))] })]
    : [];
  const info = new CertificationRequestInfo({
    subject: new Name([]),
    subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
  });
  info.attributes.push(...attributes);
  const { id, hash } = algorithmFor(privateKey);
  const infoDer = new Uint8Array(AsnConvert.serialize(info));
  const signature = sign(hash, infoDer, privateKey);
  const csr = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: id,
    signature: new Uint8Array(signature).buffer,
  });
  return Buffer.from(AsnConvert.serialize(csr));
}
