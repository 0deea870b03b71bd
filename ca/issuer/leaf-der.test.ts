import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as x509 from '@peculiar/x509';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { TetherError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import { HOUR_MS, makeIntermediate, makeRoot, type TestCa } from '../../test/helpers/pki.js';
import { checkIssuedLeaf, issuerFactsOf } from './check-leaf.js';
import { LeafEncoder, type LeafParts } from './leaf-der.js';
import { signingKeyFor } from './signing-key.js';
import { buildLeafTemplate, randomSerial } from './template.js';

const now = Date.now();
const dir = mkdtempSync(path.join(tmpdir(), 'tether-leaf-der-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const intermediateCert = new X509Certificate(intermediate.der);
const encoderFor = (ca: TestCa) =>
  LeafEncoder.create(ca.info, signingKeyFor(ca.key), new X509Certificate(ca.der));
const encoder = encoderFor(intermediate);
const facts = issuerFactsOf(intermediateCert);

const KEYS: Record<string, { key: KeyObject; keyType: string }> = {
  'P-256': { key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey, keyType: 'ec' },
  'P-384': { key: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey, keyType: 'ec' },
  'RSA-2048': { key: generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey, keyType: 'rsa' },
  Ed25519: { key: generateKeyPairSync('ed25519').publicKey, keyType: 'ed25519' },
};
const spkiOf = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });

function parts(keyName: string, over: Partial<LeafParts> = {}): LeafParts {
  const k = KEYS[keyName]!;
  return {
    spiffeId: 'spiffe://example.org/ns/shop/sa/web',
    dnsNames: [],
    spki: spkiOf(k.key),
    keyType: k.keyType,
    notBefore: now - 60_000,
    notAfter: now + HOUR_MS,
    ...over,
  };
}

/** The same leaf through the schema path (template.ts), with the given serial. */
function schemaTbs(p: LeafParts, serial: Buffer): Buffer {
  const t = buildLeafTemplate(
    {
      spiffeId: parseSpiffeId(p.spiffeId),
      dnsNames: p.dnsNames,
      spki: p.spki,
      keyType: p.keyType,
      notBefore: new Date(p.notBefore),
      notAfter: new Date(p.notAfter),
    },
    intermediate.info,
  );
  t.serialNumber = new Uint8Array(serial).buffer;
  t.signature = signingKeyFor(intermediate.key).algorithm;
  return Buffer.from(AsnConvert.serialize(t));
}

function opensslVerify(leaf: Buffer, purpose: string): { ok: boolean; out: string } {
  const name = Math.random().toString(36).slice(2);
  const files = ['root', 'int', 'leaf'].map((f) => path.join(dir, `${name}-${f}.pem`));
  for (const [i, der] of [root.der, intermediate.der, leaf].entries()) writeFileSync(files[i]!, toPem(der));
  const args = ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', files[0]!, '-untrusted', files[1]!];
  try {
    return {
      ok: true,
      out: execFileSync('openssl', [...args, files[2]!], { encoding: 'utf8', stdio: 'pipe' }),
    };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('LeafEncoder output equals the schema path byte for byte', () => {
  it.each(Object.keys(KEYS))('encodes a %s leaf exactly as template.ts + asn1-schema do', (keyName) => {
    for (const dnsNames of [[], ['web.example.org'], ['a.example.org', 'b.example.org']]) {
      const serial = Buffer.from(randomSerial());
      const p = parts(keyName, {
        dnsNames,
        notBefore: Date.UTC(2031, 5, 1, 8),
        notAfter: Date.UTC(2031, 5, 2),
      });
      expect(encoder.tbs(p, serial).toString('hex')).toBe(schemaTbs(p, serial).toString('hex'));
    }
  });

  it('switches to GeneralizedTime after 2049 as the schema does', () => {
    const serial = Buffer.from(randomSerial());
    const p = parts('P-256', {
      notBefore: Date.UTC(2049, 11, 31, 23, 59, 59),
      notAfter: Date.UTC(2050, 0, 1),
    });
    const tbs = encoder.tbs(p, serial);
    expect(tbs.toString('hex')).toBe(schemaTbs(p, serial).toString('hex'));
    expect(tbs.includes(Buffer.from('\x18\x0f20500101000000Z', 'latin1'))).toBe(true);
  });

  it('encodes a long SAN list whose lengths need two length octets', () => {
    const dnsNames = Array.from({ length: 20 }, (_, i) => `service-${i}.namespace.svc.cluster.local`);
    const serial = Buffer.from(randomSerial());
    const p = parts('RSA-2048', {
      dnsNames,
      notBefore: Date.UTC(2031, 0, 1),
      notAfter: Date.UTC(2031, 0, 2),
    });
    expect(encoder.tbs(p, serial).equals(schemaTbs(p, serial))).toBe(true);
  });
});

describe('openssl verify -x509_strict accepts fast-path leaves', () => {
  const cases = Object.keys(KEYS).flatMap((k) =>
    [[], ['api.example.org']].flatMap((dnsNames) =>
      ['sslclient', 'sslserver'].map((purpose) => [k, dnsNames, purpose] as const),
    ),
  );
  it.each(cases)('accepts a %s leaf with DNS SANs %j for %s', (keyName, dnsNames, purpose) => {
    const leaf = encoder.issue(parts(keyName, { dnsNames: [...dnsNames] }));
    const r = opensslVerify(leaf.der, purpose);
    expect(r.out).toContain(': OK');
    expect(r.ok).toBe(true);
  });

  it('refuses a fast-path leaf for another trust domain under the example.org-constrained intermediate', () => {
    const leaf = encoder.issue(parts('P-256', { spiffeId: 'spiffe://other.org/x' }));
    const r = opensslVerify(leaf.der, 'sslclient');
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/name constraint|permitted subtree/i);
  });
});

describe('fast-path leaves say exactly what was asked (property)', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  const input = fc.record({
    keyName: fc.constantFrom(...Object.keys(KEYS)),
    path: fc.array(label, { minLength: 1, maxLength: 4 }),
    dnsNames: fc.uniqueArray(
      fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join('.')),
      {
        maxLength: 4,
      },
    ),
    ttlSeconds: fc.integer({ min: 10, max: 40 * 3600 }),
  });

  it('reads back identity, key, TTL and CA flags through @peculiar/x509 and node X509Certificate', () => {
    fc.assert(
      fc.property(input, ({ keyName, path: segments, dnsNames, ttlSeconds }) => {
        const spiffeId = `spiffe://example.org/${segments.join('/')}`;
        const p = parts(keyName, { spiffeId, dnsNames, notAfter: now + ttlSeconds * 1000 });
        const leaf = encoder.issue(p);
        checkIssuedLeaf(leaf.der, { ...p, ...leaf }, facts);

        const node = new X509Certificate(leaf.der);
        expect(node.verify(intermediateCert.publicKey)).toBe(true);
        expect(node.checkIssued(intermediateCert)).toBe(true);
        expect(node.ca).toBe(false);
        expect(node.subject ?? '').toBe('');
        expect(node.subjectAltName).toBe([`URI:${spiffeId}`, ...dnsNames.map((d) => `DNS:${d}`)].join(', '));
        expect(node.publicKey.equals(KEYS[keyName]!.key)).toBe(true);
        expect(node.serialNumber.toLowerCase()).toBe(leaf.serial);
        expect(Date.parse(node.validTo)).toBe(Math.floor(p.notAfter / 1000) * 1000);
        expect(Date.parse(node.validFrom)).toBe(Math.floor(p.notBefore / 1000) * 1000);
        expect(node.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // node: extended key usage

        const cert = new x509.X509Certificate(leaf.der);
        const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
        expect(san.critical).toBe(true);
        expect(san.names.items.map((n) => `${n.type}:${n.value}`)).toEqual([
          `url:${spiffeId}`,
          ...dnsNames.map((d) => `dns:${d}`),
        ]);
        const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
        expect([bc.critical, bc.ca]).toEqual([true, false]);
        const ku = cert.getExtension(x509.KeyUsagesExtension)!;
        const rsa = KEYS[keyName]!.keyType === 'rsa';
        expect(ku.critical).toBe(true);
        expect(ku.usages).toBe(
          x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0),
        );
        expect(cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]);
        const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)!;
        expect(aki.keyId).toBe(Buffer.from(intermediate.info.subjectKeyId).toString('hex'));
        expect(cert.issuer).toBe(new x509.X509Certificate(intermediate.der).subject);
        expect(node.issuer).toBe(intermediateCert.subject);
      }),
      { numRuns: 40 },
    );
  });
});

describe('LeafEncoder proves itself when created', () => {
  it('refuses a signing key that does not belong to the issuing certificate', () => {
    const other = makeIntermediate(
      root,
      'example.org',
      new Date(now - HOUR_MS),
      new Date(now + HOUR_MS),
      'x',
    );
    let code = '';
    try {
      LeafEncoder.create(intermediate.info, signingKeyFor(other.key), intermediateCert);
    } catch (err) {
      code = (err as TetherError).code;
    }
    expect(code).toBe('ERR_INTERNAL');
  });

  it('works for RSA and P-384 signing CAs as well', () => {
    for (const pair of [
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
      generateKeyPairSync('ec', { namedCurve: 'secp384r1' }),
    ]) {
      const ca = makeRoot(new Date(now - HOUR_MS), new Date(now + HOUR_MS), pair);
      const leaf = encoderFor(ca).issue(parts('P-256'));
      const cert = new X509Certificate(leaf.der);
      expect(cert.verify(createPublicKey(ca.key))).toBe(true);
    }
  });
});
