// Property tests for CSR handling: random mutations of a valid DER request never crash the
// parser, and whatever still parses can only yield a leaf for the attested identity and the
// CSR's own, proven key — never for another identity, never for a key the caller does not hold.
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import { buildCsr } from '../../sidecar/identity/csr.js';
import { HOUR_MS, makeIntermediate, makeRoot } from '../../test/helpers/pki.js';
import { checkCsrShape } from '../issuer/authorize.js';
import { signCertificate } from '../issuer/sign.js';
import { signingKeyFor } from '../issuer/signing-key.js';
import { buildLeafTemplate } from '../issuer/template.js';
import { verifyIssued } from '../issuer/verify-issued.js';
import { parseCsr } from './parse-csr.js';

const MAX = 16384;
const ATTESTED = 'spiffe://example.org/ns/shop/sa/web';
const now = Date.now();
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 10 * HOUR_MS));
const ca = makeIntermediate(root, 'example.org', new Date(now - HOUR_MS), new Date(now + 5 * HOUR_MS));
const caCert = new X509Certificate(ca.der);
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
const ownSpki = createPublicKey(key).export({ type: 'spki', format: 'der' });
const valid = buildCsr(key, {
  uris: ['spiffe://example.org/ns/admin/sa/root'],
  dnsNames: ['orders.example.org'],
});
const EXPECTED_CODES = new Set([
  'ERR_CSR_MALFORMED',
  'ERR_CSR_TOO_LARGE',
  'ERR_CSR_SIGNATURE_INVALID',
  'ERR_CSR_KEY_UNSUPPORTED',
  'ERR_CSR_CA_REQUESTED',
]);

/** The issuer's steps after attestation, for a fixed attested identity; returns the leaf or a refusal code. */
function issueFor(der: Uint8Array): { cert: X509Certificate } | { code: string } {
  try {
    const csr = parseCsr(der, MAX);
    checkCsrShape(csr);
    const template = buildLeafTemplate(
      {
        spiffeId: parseSpiffeId(ATTESTED),
        dnsNames: [],
        spki: csr.spki,
        keyType: csr.keyType,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + HOUR_MS),
      },
      ca.info,
    );
    const leaf = signCertificate(template, signingKeyFor(ca.key));
    return { cert: verifyIssued(leaf, { spiffeId: ATTESTED, dnsNames: [], spki: csr.spki, issuer: caCert }) };
  } catch (err) {
    if (!(err instanceof TetherError)) throw err;
    return { code: err.code };
  }
}

function expectSafe(der: Uint8Array): void {
  const r = issueFor(der);
  if ('code' in r) {
    expect(EXPECTED_CODES).toContain(r.code);
    return;
  }
  expect(r.cert.subjectAltName).toBe(`URI:${ATTESTED}`);
  expect(r.cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ownSpki)).toBe(true);
  expect(r.cert.ca).toBe(false);
}

describe('CSR handling under mutated DER', () => {
  it('issues the unmutated request for the attested identity only (the URI SAN it asks for is ignored)', () => {
    const r = issueFor(valid);
    expect('cert' in r && r.cert.subjectAltName).toBe(`URI:${ATTESTED}`);
  });

  it('survives single-byte flips anywhere in the request', () => {
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const der = Buffer.from(valid);
        der[at] = der[at]! ^ xor;
        expectSafe(der);
      }),
      { numRuns: 400 },
    );
  });

  it('survives truncation, insertion and splicing of random bytes', () => {
    fc.assert(
      fc.property(
        fc.nat(valid.length),
        fc.nat(valid.length),
        fc.uint8Array({ maxLength: 24 }),
        (from, to, insert) => {
          const [a, b] = from <= to ? [from, to] : [to, from];
          expectSafe(Buffer.concat([valid.subarray(0, a), insert, valid.subarray(b)]));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuses arbitrary bytes with a CSR error code, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => expectSafe(bytes)),
      { numRuns: 300 },
    );
  });
});
