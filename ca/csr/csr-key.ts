// The CSR's public key as a node:crypto KeyObject, and whether we issue for it. OpenSSL 3.0
// decodes SPKI DER slowly (~300 µs), so byte-exact canonical P-256 and Ed25519 SPKIs, whose
// key material sits at a fixed offset, are imported as JWK instead (~30-140 µs, the point is
// still checked to be on the curve). Everything else goes through the SPKI decoder.
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { TetherError } from '../../common/errors.js';
import type { CsrKeyType } from './parse-csr.js';

/** SPKI prefixes (RFC 5480, RFC 8410) up to the key bits, and the key's length after them. */
const P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function startsWith(spki: Uint8Array, prefix: Buffer, rest: number): boolean {
  return spki.byteLength === prefix.length + rest && prefix.compare(spki, 0, prefix.length) === 0;
}

/** The JWK of a canonical P-256 (uncompressed point) or Ed25519 SPKI, else null. */
export function canonicalJwk(spki: Uint8Array): JsonWebKey | null {
  const b = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  if (startsWith(b, P256_PREFIX, 65) && b[P256_PREFIX.length] === 0x04) {
    const x = b.subarray(P256_PREFIX.length + 1, P256_PREFIX.length + 33);
    const y = b.subarray(P256_PREFIX.length + 33);
    return { kty: 'EC', crv: 'P-256', x: x.toString('base64url'), y: y.toString('base64url') };
  }
  if (startsWith(b, ED25519_PREFIX, 32)) {
    return { kty: 'OKP', crv: 'Ed25519', x: b.subarray(ED25519_PREFIX.length).toString('base64url') };
  }
  return null;
}

/** Imports the CSR's SPKI; ERR_CSR_KEY_UNSUPPORTED if it is not a valid key node can use. */
export function importSpki(spki: Uint8Array): KeyObject {
  try {
    const jwk = canonicalJwk(spki);
    return jwk
      ? createPublicKey({ key: jwk, format: 'jwk' })
      : createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (err) {
    throw new TetherError('ERR_CSR_KEY_UNSUPPORTED', 'CSR public key is not a supported or valid key', {
      cause: err,
    });
  }
}

/** Which key type the CSR carries, or ERR_CSR_KEY_UNSUPPORTED naming the refused key. */
export function describeKey(key: KeyObject): { keyType: CsrKeyType; keyDescription: string } {
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
