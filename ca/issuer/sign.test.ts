import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toPem } from '../../common/pem.js';
import { asn1, HOUR_MS, makeIntermediate, makeLeaf, makeRoot, type TestCa } from '../../test/helpers/pki.js';

const OPENSSL = '/usr/bin/openssl';
const now = Date.UTC(2030, 0, 1, 12, 0, 0);
const dir = mkdtempSync(path.join(tmpdir(), 'tether-sign-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const window = { notBefore: new Date(now - 60_000), notAfter: new Date(now + HOUR_MS) };

function occurrences(der: Buffer, hexPattern: string): number {
  const needle = Buffer.from(hexPattern, 'hex');
  let count = 0;
  for (let at = der.indexOf(needle); at !== -1; at = der.indexOf(needle, at + 1)) count++;
  return count;
}

function publicKeyOf(ca: TestCa) {
  return new X509Certificate(ca.der).publicKey;
}

/** Runs `openssl verify` at the fixed test time; returns its exit status and output. */
function opensslVerify(
  leaf: Buffer,
  inter: Buffer,
  purpose: string,
  extra: string[] = [],
): { ok: boolean; out: string } {
  const name = `${Math.random().toString(36).slice(2)}`;
  const rootFile = path.join(dir, `${name}-root.pem`);
  const interFile = path.join(dir, `${name}-int.pem`);
  const leafFile = path.join(dir, `${name}-leaf.pem`);
  writeFileSync(rootFile, toPem(root.der));
  writeFileSync(interFile, toPem(inter));
  writeFileSync(leafFile, toPem(leaf));
  const args = ['verify', '-x509_strict', '-purpose', purpose, '-attime', String(now / 1000), ...extra];
  try {
    const out = execFileSync(OPENSSL, [...args, '-CAfile', rootFile, '-untrusted', interFile, leafFile], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, out };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('signCertificate', () => {
  const leaf = makeLeaf(intermediate, 'spiffe://example.org/web', window);

  it('produces a self-signed root whose signature verifies with its own key', () => {
    const x = new X509Certificate(root.der);
    expect(x.verify(x.publicKey)).toBe(true);
  });

  it('produces an intermediate that verifies with the root key and not with its own', () => {
    const x = new X509Certificate(intermediate.der);
    expect(x.verify(publicKeyOf(root))).toBe(true);
    expect(x.verify(x.publicKey)).toBe(false);
  });

  it('produces a leaf that verifies with the intermediate key and not with the root key', () => {
    const x = new X509Certificate(leaf);
    expect(x.verify(publicKeyOf(intermediate))).toBe(true);
    expect(x.verify(publicKeyOf(root))).toBe(false);
  });

  it('makes a signature that breaks when a byte of the signed part changes', () => {
    const tampered = Buffer.from(leaf);
    // A byte inside the SAN's URI, well inside the TBSCertificate.
    const at = tampered.indexOf(Buffer.from('example.org/web'));
    expect(at).toBeGreaterThan(0);
    tampered[at] = 'E'.charCodeAt(0);
    expect(new X509Certificate(tampered).verify(publicKeyOf(intermediate))).toBe(false);
  });

  it('writes the same signature algorithm inside and outside the TBSCertificate', () => {
    const { cert } = asn1(leaf);
    expect(cert.signatureAlgorithm.algorithm).toBe('1.2.840.10045.4.3.2');
    expect(cert.tbsCertificate.signature.algorithm).toBe('1.2.840.10045.4.3.2');
    // RFC 5758 §3.2: ecdsa-with-SHA256 with absent parameters, SEQUENCE { OID } only, twice.
    expect(occurrences(leaf, '300a06082a8648ce3d040302')).toBe(2);
  });

  it('signs with sha256WithRSAEncryption and NULL parameters under an RSA CA', () => {
    const rsaRoot = makeRoot(
      new Date(now - HOUR_MS),
      new Date(now + HOUR_MS),
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
    );
    expect(asn1(rsaRoot.der).cert.signatureAlgorithm.algorithm).toBe('1.2.840.113549.1.1.11');
    // RFC 4055 §5: SEQUENCE { sha256WithRSAEncryption, NULL }, in the TBS and outside it.
    expect(occurrences(rsaRoot.der, '300d06092a864886f70d01010b0500')).toBe(2);
    const x = new X509Certificate(rsaRoot.der);
    expect(x.verify(x.publicKey)).toBe(true);
  });
});

describe('openssl verify of a root → intermediate → leaf chain', () => {
  it('accepts the leaf for TLS clients under -x509_strict', () => {
    const leaf = makeLeaf(intermediate, 'spiffe://example.org/web', window);
    const r = opensslVerify(leaf, intermediate.der, 'sslclient');
    expect(r.out).toContain(': OK');
    expect(r.ok).toBe(true);
  });

  it('accepts the leaf for TLS servers under -x509_strict', () => {
    const leaf = makeLeaf(intermediate, 'spiffe://example.org/api', {
      ...window,
      dnsNames: ['api.example.org'],
    });
    const r = opensslVerify(leaf, intermediate.der, 'sslserver');
    expect(r.out).toContain(': OK');
    expect(r.ok).toBe(true);
  });

  it('accepts an RSA leaf', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const leaf = makeLeaf(intermediate, 'spiffe://example.org/rsa', { ...window, publicKey, keyType: 'rsa' });
    expect(opensslVerify(leaf, intermediate.der, 'sslserver').ok).toBe(true);
  });

  it('refuses a leaf for another trust domain under an intermediate constrained to example.org', () => {
    const leaf = makeLeaf(intermediate, 'spiffe://other.org/x', window);
    const r = opensslVerify(leaf, intermediate.der, 'sslclient');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/name constraint|permitted subtree/i);
  });

  it('refuses the chain once the leaf has expired', () => {
    const leaf = makeLeaf(intermediate, 'spiffe://example.org/web', window);
    const later = String(now / 1000 + 2 * 3600);
    const r = opensslVerify(leaf, intermediate.der, 'sslclient', ['-attime', later]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/expired/i);
  });

  it('refuses a leaf when the intermediate is missing', () => {
    const leaf = makeLeaf(intermediate, 'spiffe://example.org/web', window);
    const stranger = makeRoot(new Date(now - HOUR_MS), new Date(now + HOUR_MS));
    const r = opensslVerify(leaf, stranger.der, 'sslclient');
    expect(r.ok).toBe(false);
  });

  it('refuses a certificate that the pathLen-0 intermediate signed as a CA', () => {
    const sub = makeIntermediate(
      intermediate,
      'example.org',
      new Date(now - HOUR_MS),
      new Date(now + 10 * HOUR_MS),
      'int-2',
    );
    const leaf = makeLeaf(sub, 'spiffe://example.org/web', window);
    // Chain: leaf → sub → intermediate (pathLen 0) → root.
    const chain = Buffer.concat([Buffer.from(toPem(sub.der)), Buffer.from(toPem(intermediate.der))]);
    const file = path.join(dir, 'deep-chain.pem');
    writeFileSync(file, chain);
    const rootFile = path.join(dir, 'deep-root.pem');
    writeFileSync(rootFile, toPem(root.der));
    const leafFile = path.join(dir, 'deep-leaf.pem');
    writeFileSync(leafFile, toPem(leaf));
    const args = [
      'verify',
      '-x509_strict',
      '-attime',
      String(now / 1000),
      '-CAfile',
      rootFile,
      '-untrusted',
      file,
      leafFile,
    ];
    expect(() => execFileSync(OPENSSL, args, { stdio: 'pipe' })).toThrow(/path length/i);
  });
});
