import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { signBytes, signingKeyFor } from './signing-key.js';

const data = new TextEncoder().encode('to be signed');

describe('signingKeyFor', () => {
  it('signs P-256 keys with ecdsa-with-SHA256 and no parameters', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const s = signingKeyFor(privateKey);
    expect(s.algorithm.algorithm).toBe('1.2.840.10045.4.3.2');
    expect(s.algorithm.parameters ?? null).toBeNull();
    expect(s.hash).toBe('sha256');
    expect(s.key).toBe(privateKey);
  });

  it('signs P-384 keys with ecdsa-with-SHA384', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const s = signingKeyFor(privateKey);
    expect(s.algorithm.algorithm).toBe('1.2.840.10045.4.3.3');
    expect(s.hash).toBe('sha384');
  });

  it('signs RSA keys with sha256WithRSAEncryption and explicit NULL parameters', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const s = signingKeyFor(privateKey);
    expect(s.algorithm.algorithm).toBe('1.2.840.113549.1.1.11');
    expect(Buffer.from(new Uint8Array(s.algorithm.parameters!)).toString('hex')).toBe('0500');
    expect(s.hash).toBe('sha256');
  });

  it.each([
    ['Ed25519', () => generateKeyPairSync('ed25519').privateKey],
    ['secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey],
    ['P-521', () => generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).privateKey],
  ])('refuses a %s CA key with ERR_KEY_UNREADABLE', (_name, make) => {
    let caught: unknown;
    try {
      signingKeyFor(make());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TetherError);
    expect((caught as TetherError).code).toBe('ERR_KEY_UNREADABLE');
  });
});

describe('signBytes', () => {
  it('makes a DER-encoded ECDSA signature that verifies with the public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const sig = signBytes(signingKeyFor(privateKey), data);
    expect(sig[0]).toBe(0x30);
    expect(verify('sha384', data, publicKey, sig)).toBe(true);
    expect(verify('sha384', new TextEncoder().encode('other'), publicKey, sig)).toBe(false);
  });

  it('makes an RSA PKCS#1 v1.5 SHA-256 signature of the modulus length', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sig = signBytes(signingKeyFor(privateKey), data);
    expect(sig).toHaveLength(256);
    expect(verify('sha256', data, publicKey, sig)).toBe(true);
  });
});
