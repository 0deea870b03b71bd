import { X509Certificate } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { BasicConstraints, Extension, id_ce_basicConstraints } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { signCertificate } from '../ca/issuer/sign.js';
import { signingKeyFor } from '../ca/issuer/signing-key.js';
import { buildLeafTemplate } from '../ca/issuer/template.js';
import { asn1, ecKey, HOUR_MS, makeLeaf, makeRoot, spkiOf } from '../test/helpers/pki.js';
import { parseSpiffeId } from './spiffe-id.js';
import { assertsCa, readSans, serialHex, sha256Hex, x5tS256 } from './x509.js';

const now = Date.UTC(2030, 0, 1);
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 24 * HOUR_MS));
const leafDer = makeLeaf(root, 'spiffe://example.org/web', {
  dnsNames: ['web.example.org', 'web'],
  notBefore: new Date(now),
  notAfter: new Date(now + HOUR_MS),
});

describe('readSans', () => {
  it('reads the URI and DNS SANs of a leaf', () => {
    expect(readSans(leafDer)).toEqual({
      uris: ['spiffe://example.org/web'],
      dnsNames: ['web.example.org', 'web'],
      ipAddresses: [],
    });
  });

  it('reads IP address SANs', () => {
    const template = buildLeafTemplate(
      {
        spiffeId: parseSpiffeId('spiffe://example.org/ca'),
        dnsNames: [],
        ipAddresses: ['127.0.0.1'],
        spki: spkiOf(ecKey().publicKey),
        keyType: 'ec',
        notBefore: new Date(now),
        notAfter: new Date(now + HOUR_MS),
      },
      root.info,
    );
    const der = signCertificate(template, signingKeyFor(root.key));
    expect(readSans(der).ipAddresses).toEqual(['127.0.0.1']);
  });

  it('returns empty lists for a certificate without a SAN extension', () => {
    expect(readSans(root.der)).toEqual({ uris: [], dnsNames: [], ipAddresses: [] });
  });
});

describe('fingerprints', () => {
  const x = new X509Certificate(leafDer);

  it('sha256Hex is the lowercase, colon-free form of Node’s fingerprint256', () => {
    const hex = sha256Hex(leafDer);
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    expect(hex).toBe(x.fingerprint256.replace(/:/g, '').toLowerCase());
  });

  it('x5tS256 is 43 characters of unpadded base64url encoding the same SHA-256', () => {
    const t = x5tS256(leafDer);
    expect(t).toHaveLength(43);
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url').toString('hex')).toBe(sha256Hex(leafDer));
  });

  it('x5tS256 differs from Node’s fingerprint256 text and from the hex digest', () => {
    const t = x5tS256(leafDer);
    expect(t).not.toBe(x.fingerprint256);
    expect(t).not.toContain(':');
    expect(t).not.toBe(sha256Hex(leafDer));
  });

  it('differs between two certificates', () => {
    expect(x5tS256(root.der)).not.toBe(x5tS256(leafDer));
    expect(sha256Hex(root.der)).not.toBe(sha256Hex(leafDer));
  });
});

describe('serialHex', () => {
  it('is the lowercase serial without leading zero bytes', () => {
    const fake = { serialNumber: '00007F0A' } as X509Certificate;
    expect(serialHex(fake)).toBe('7f0a');
  });

  it('keeps a lone zero serial', () => {
    expect(serialHex({ serialNumber: '00' } as X509Certificate)).toBe('00');
  });

  it('matches the serial encoded in the leaf’s DER', () => {
    const encoded = Buffer.from(asn1(leafDer).cert.tbsCertificate.serialNumber).toString('hex');
    expect(serialHex(new X509Certificate(leafDer))).toBe(encoded.replace(/^(00)+/, ''));
  });
});

describe('assertsCa', () => {
  it('is false for a CA:false leaf and true for a root', () => {
    expect(assertsCa(leafDer)).toBe(false);
    expect(assertsCa(root.der)).toBe(true);
  });

  it('sees CA:true on a leaf without keyCertSign, where X509Certificate.ca says false', () => {
    const template = buildLeafTemplate(
      {
        spiffeId: parseSpiffeId('spiffe://example.org/web'),
        dnsNames: [],
        spki: spkiOf(ecKey().publicKey),
        keyType: 'ec',
        notBefore: new Date(now),
        notAfter: new Date(now + HOUR_MS),
      },
      root.info,
    );
    const i = template.extensions!.findIndex((e) => e.extnID === id_ce_basicConstraints);
    template.extensions![i] = new Extension({
      extnID: id_ce_basicConstraints,
      critical: true,
      extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: true }))),
    });
    const der = signCertificate(template, signingKeyFor(root.key));
    expect(new X509Certificate(der).ca).toBe(false);
    expect(assertsCa(der)).toBe(true);
  });
});
