import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { TetherError } from '../../common/errors.js';
import { HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { checkIssuedLeaf, issuerFactsOf, type LeafExpectation } from './check-leaf.js';
import { LeafEncoder, type LeafParts } from './leaf-der.js';
import { signingKeyFor } from './signing-key.js';

const now = Date.now();
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const cert = new X509Certificate(intermediate.der);
const encoder = LeafEncoder.create(intermediate.info, signingKeyFor(intermediate.key), cert);
const facts = issuerFactsOf(cert);
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
const parts: LeafParts = {
  spiffeId: 'spiffe://example.org/web',
  dnsNames: ['web.example.org'],
  spki: key.export({ type: 'spki', format: 'der' }),
  keyType: 'ec',
  notBefore: now - 60_000,
  notAfter: now + HOUR_MS,
};
const leaf = encoder.issue(parts);
const expected: LeafExpectation = { ...parts, ...leaf };

function problemOf(der: Buffer, e: LeafExpectation, f = facts): string {
  try {
    checkIssuedLeaf(der, e, f);
  } catch (err) {
    const t = err as TetherError;
    expect(t.code).toBe('ERR_ISSUED_CERT_INVALID');
    return (t.cause as Error).message;
  }
  return 'accepted';
}

describe('checkIssuedLeaf', () => {
  it('accepts the leaf the encoder just produced', () => {
    expect(problemOf(leaf.der, expected)).toBe('accepted');
  });

  it.each<[string, Partial<LeafExpectation>, RegExp]>([
    ['another identity', { spiffeId: 'spiffe://example.org/admin' }, /subjectAltName differs/],
    ['another DNS name', { dnsNames: ['admin.example.org'] }, /subjectAltName differs/],
    ['no DNS names', { dnsNames: [] }, /subjectAltName differs/],
    [
      'another key',
      {
        spki: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
          type: 'spki',
          format: 'der',
        }),
      },
      /public key differs/,
    ],
    ['another serial', { serial: '01'.repeat(17) }, /serial differs/],
    ['another expiry', { notAfter: leaf.notAfter + 1000 }, /validity differs/],
    ['an RSA key usage', { keyType: 'rsa' }, /keyUsage differs/],
  ])('refuses a leaf that does not carry %s as expected', (_what, change, problem) => {
    expect(problemOf(leaf.der, { ...expected, ...change })).toMatch(problem);
  });

  it('refuses a leaf that outlives the signing CA', () => {
    const late = encoder.issue({ ...parts, notAfter: now + 60 * HOUR_MS });
    expect(problemOf(late.der, { ...parts, ...late })).toMatch(/outlives the signing CA/);
  });

  it('refuses a leaf issued under another CA name', () => {
    const other = makeIntermediate(
      root,
      'example.org',
      new Date(now - HOUR_MS),
      new Date(now + HOUR_MS),
      'x',
    );
    expect(problemOf(leaf.der, expected, issuerFactsOf(new X509Certificate(other.der)))).toMatch(
      /issuer does not match/,
    );
  });

  it('refuses a CA certificate in place of a leaf', () => {
    expect(problemOf(intermediate.der, expected)).toMatch(/serial differs|extensions|unreadable/);
  });

  it('refuses a schema-path leaf without the expected SAN criticality or layout changes', () => {
    const schemaLeaf = makeLeaf(intermediate, 'spiffe://example.org/web', {
      publicKey: key,
      dnsNames: ['web.example.org'],
      notBefore: new Date(parts.notBefore),
      notAfter: new Date(parts.notAfter),
    });
    // Same content, different serial: only the serial differs, proving the check reads the DER.
    expect(problemOf(schemaLeaf, expected)).toBe('serial differs');
  });

  it('refuses a leaf with one byte of its SAN changed', () => {
    const der = Buffer.from(leaf.der);
    const at = der.indexOf(Buffer.from('spiffe://example.org/web'));
    der[at + 20] = 'X'.charCodeAt(0);
    expect(problemOf(der, expected)).toMatch(/subjectAltName differs/);
  });

  it('refuses bytes that are not a certificate', () => {
    expect(problemOf(Buffer.from('30030201', 'hex'), expected)).toMatch(/unreadable/);
  });
});
