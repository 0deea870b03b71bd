// Which signature algorithm a CA key signs with, as both the X.509 AlgorithmIdentifier and the
// node:crypto arguments. CA keys are ECDSA P-256/P-384 or RSA.
import { type KeyObject, sign } from 'node:crypto';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { TetherError } from '../../common/errors.js';

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const ECDSA_SHA384 = '1.2.840.10045.4.3.3';
const RSA_SHA256 = '1.2.840.113549.1.1.11';
/** DER NULL: RFC 4055 §5 requires explicit NULL parameters for PKCS#1 v1.5 signatures. */
const DER_NULL = new Uint8Array([0x05, 0x00]).buffer;

/** A private key together with how it signs. */
export interface SigningKey {
  readonly key: KeyObject;
  readonly algorithm: AlgorithmIdentifier;
  readonly hash: 'sha256' | 'sha384';
}

/** Chooses the signature algorithm matching the key: ES256 for P-256, ES384 for P-384, RS256 for RSA. */
export function signingKeyFor(key: KeyObject): SigningKey {
  const type = key.asymmetricKeyType;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1')
      return { key, hash: 'sha256', algorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }) };
    if (curve === 'secp384r1')
      return { key, hash: 'sha384', algorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA384 }) };
  }
  if (type === 'rsa') {
    return {
      key,
      hash: 'sha256',
      algorithm: new AlgorithmIdentifier({ algorithm: RSA_SHA256, parameters: DER_NULL }),
    };
  }
  throw new TetherError(
    'ERR_KEY_UNREADABLE',
    `unsupported CA key type ${type ?? 'unknown'} (use ECDSA P-256/P-384 or RSA)`,
  );
}

/** Signs bytes with the key's algorithm; ECDSA signatures come out DER-encoded as X.509 needs. */
export function signBytes(signer: SigningKey, data: Uint8Array): Buffer {
  return sign(signer.hash, data, signer.key);
}
