import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { IdentityState, Svid } from '../identity/svid.js';
import { contextOptions, FAPI_TLS12_CIPHERS, fapiKeyProblem } from './contexts.js';

const stateWith = (key: ReturnType<typeof generateKeyPairSync>['privateKey']): IdentityState => ({
  svid: { key, keyPem: '', chainPem: '' } as unknown as Svid,
  bundle: { pem: '', roots: [], sequence: 0 },
});

describe('fapi profile', () => {
  it('accepts an RSA key of 2048 bits and refuses RSA-1024 and ECDSA, saying what the key is', () => {
    const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
    expect(fapiKeyProblem(stateWith(rsa(2048)))).toBeNull();
    expect(fapiKeyProblem(stateWith(rsa(1024)))).toBe(
      'the fapi profile needs an RSA key of 2048 bits or more, the certificate has rsa-1024',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    expect(fapiKeyProblem(stateWith(ec))).toContain('the certificate has ec');
  });

  it('offers exactly the FAPI suites at OpenSSL security level 2, with DHE parameters', () => {
    const options = contextOptions(
      stateWith(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
      'TLSv1.2',
      'fapi',
    );
    expect(options).toMatchObject({
      ciphers: `${FAPI_TLS12_CIPHERS}:@SECLEVEL=2`,
      dhparam: 'auto',
      minVersion: 'TLSv1.2',
    });
  });
});
