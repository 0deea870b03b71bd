import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { buildCsr } from '../../sidecar/identity/csr.js';
import { HOUR_MS, makeRoot } from '../../test/helpers/pki.js';
import { parseCsr } from './parse-csr.js';

const MAX = 16384;
const ecP256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return (err as TetherError).code;
  }
  throw new Error('expected a TetherError');
}

/** Re-encodes a CSR after changing its parsed form (the signature is left as it was). */
function mutate(der: Buffer, change: (csr: CertificationRequest) => void): Buffer {
  const parsed = AsnConvert.parse(der, CertificationRequest);
  change(parsed);
  // A fresh object, so the request info is re-encoded instead of reusing the original raw bytes.
  const { certificationRequestInfo, signatureAlgorithm, signature } = parsed;
  return Buffer.from(
    AsnConvert.serialize(
      new CertificationRequest({ certificationRequestInfo, signatureAlgorithm, signature }),
    ),
  );
}

describe('parseCsr accepts the key types design.md §3 allows', () => {
  it.each<[string, () => KeyObject, string, string]>([
    ['ECDSA P-256', () => ecP256, 'ec', 'ecdsa-p256'],
    [
      'ECDSA P-384',
      () => generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey,
      'ec',
      'ecdsa-p384',
    ],
    ['RSA-2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'rsa', 'rsa-2048'],
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey, 'ed25519', 'ed25519'],
  ])('accepts %s and reports its key', (_name, make, keyType, description) => {
    const key = make();
    const parsed = parseCsr(buildCsr(key), MAX);
    expect(parsed.keyType).toBe(keyType);
    expect(parsed.keyDescription).toBe(description);
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    expect(parsed.spki.equals(spki)).toBe(true);
    expect(parsed.publicKey.equals(createPublicKey(key))).toBe(true);
    expect(parsed.requestedUris).toEqual([]);
    expect(parsed.requestedDnsNames).toEqual([]);
    expect(parsed.requestedIpAddresses).toEqual([]);
    expect(parsed.requestsCa).toBe(false);
  });
});

describe('parseCsr refuses unsupported keys', () => {
  it('refuses RSA-1024 with ERR_CSR_KEY_UNSUPPORTED', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(codeOf(() => parseCsr(buildCsr(key), MAX))).toBe('ERR_CSR_KEY_UNSUPPORTED');
  });

  it('refuses an ECDSA secp256k1 key with ERR_CSR_KEY_UNSUPPORTED', () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey;
    expect(codeOf(() => parseCsr(buildCsr(key), MAX))).toBe('ERR_CSR_KEY_UNSUPPORTED');
  });

  it('names the refused key in the message', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => parseCsr(buildCsr(key), MAX)).toThrow(/RSA-1024/);
  });
});

describe('parseCsr checks proof of possession', () => {
  it('refuses a CSR with a flipped signature byte with ERR_CSR_SIGNATURE_INVALID', () => {
    const der = buildCsr(ecP256);
    der[der.length - 1]! ^= 0x01;
    expect(codeOf(() => parseCsr(der, MAX))).toBe('ERR_CSR_SIGNATURE_INVALID');
  });

  it('refuses an Ed25519 CSR with a flipped signature byte', () => {
    const der = buildCsr(generateKeyPairSync('ed25519').privateKey);
    der[der.length - 5]! ^= 0x80;
    expect(codeOf(() => parseCsr(der, MAX))).toBe('ERR_CSR_SIGNATURE_INVALID');
  });

  it('refuses a CSR whose enclosed key did not make the signature', () => {
    const other = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey);
    const der = mutate(buildCsr(ecP256), (csr) => {
      const spki = other.export({ type: 'spki', format: 'der' });
      csr.certificationRequestInfo.subjectPKInfo = AsnConvert.parse(spki, SubjectPublicKeyInfo);
    });
    expect(codeOf(() => parseCsr(der, MAX))).toBe('ERR_CSR_SIGNATURE_INVALID');
  });

  it('refuses a signature algorithm that does not match the key', () => {
    const der = mutate(buildCsr(ecP256), (csr) => {
      csr.signatureAlgorithm = new AlgorithmIdentifier({ algorithm: '1.3.101.112' });
    });
    expect(() => parseCsr(der, MAX)).toThrow(/does not match its key/);
  });

  it('refuses a signature algorithm it does not accept, such as SHA-1 with RSA', () => {
    const der = mutate(buildCsr(ecP256), (csr) => {
      csr.signatureAlgorithm = new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.5' });
    });
    expect(codeOf(() => parseCsr(der, MAX))).toBe('ERR_CSR_SIGNATURE_INVALID');
  });
});

describe('parseCsr refuses malformed input', () => {
  const good = buildCsr(ecP256);

  it.each([
    ['empty input', Buffer.alloc(0)],
    ['garbage bytes', Buffer.from('this is not DER at all, just text')],
    ['truncated DER', good.subarray(0, good.length - 10)],
    ['trailing bytes after the request', Buffer.concat([good, Buffer.from([0x00, 0x00])])],
    ['a second request appended', Buffer.concat([good, good])],
    ['a lone NULL', Buffer.from([0x05, 0x00])],
  ])('refuses %s with ERR_CSR_MALFORMED', (_what, der) => {
    expect(codeOf(() => parseCsr(der, MAX))).toBe('ERR_CSR_MALFORMED');
  });

  it('refuses an X.509 certificate passed as a CSR with ERR_CSR_MALFORMED', () => {
    const root = makeRoot(new Date(Date.UTC(2030, 0, 1)), new Date(Date.UTC(2030, 0, 1) + HOUR_MS));
    expect(codeOf(() => parseCsr(root.der, MAX))).toBe('ERR_CSR_MALFORMED');
  });
});

describe('parseCsr enforces the size limit', () => {
  const der = buildCsr(ecP256);

  it('refuses a CSR over the limit with ERR_CSR_TOO_LARGE before decoding it', () => {
    expect(codeOf(() => parseCsr(der, der.length - 1))).toBe('ERR_CSR_TOO_LARGE');
    expect(codeOf(() => parseCsr(Buffer.alloc(MAX + 1, 0xff), MAX))).toBe('ERR_CSR_TOO_LARGE');
  });

  it('accepts a CSR of exactly the limit', () => {
    expect(parseCsr(der, der.length).keyType).toBe('ec');
  });
});

describe('parseCsr reports what the CSR asks for', () => {
  it('reports requested URI and DNS SANs in order', () => {
    const der = buildCsr(ecP256, {
      uris: ['spiffe://example.org/a', 'spiffe://example.org/b'],
      dnsNames: ['a.example.org', 'B.example.org'],
    });
    const parsed = parseCsr(der, MAX);
    expect(parsed.requestedUris).toEqual(['spiffe://example.org/a', 'spiffe://example.org/b']);
    expect(parsed.requestedDnsNames).toEqual(['a.example.org', 'B.example.org']);
    expect(parsed.requestsCa).toBe(false);
  });

  it('reports a request for basicConstraints CA:true', () => {
    const parsed = parseCsr(buildCsr(ecP256, { requestCa: true, uris: ['spiffe://example.org/ca'] }), MAX);
    expect(parsed.requestsCa).toBe(true);
    expect(parsed.requestedUris).toEqual(['spiffe://example.org/ca']);
  });
});

describe('parseCsr on bytes asn1js throws on', () => {
  it('reports a malformed GeneralizedTime as ERR_CSR_MALFORMED instead of crashing', () => {
    // Found by parse-csr.property.test.ts: asn1js throws "Wrong input string for conversion".
    expect(codeOf(() => parseCsr(Uint8Array.from([62, 3, 0, 0, 0]), MAX))).toBe('ERR_CSR_MALFORMED');
  });
});
