import { createHash, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AuthorityKeyIdentifier,
  BasicConstraints,
  ExtendedKeyUsage,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_nameConstraints,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_clientAuth,
  id_kp_serverAuth,
  NameConstraints,
  SubjectKeyIdentifier,
} from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { readSans } from '../../common/x509.js';
import { asn1, ecKey, HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { randomSerial, subjectKeyIdFor } from './template.js';

const now = Date.UTC(2030, 0, 1, 12, 0, 0);
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const leafKey = ecKey();
const notBefore = new Date(now - 60_000);
const notAfter = new Date(now + HOUR_MS);
const leafDer = makeLeaf(intermediate, 'spiffe://example.org/web', {
  publicKey: leafKey.publicKey,
  dnsNames: ['web.example.org'],
  notBefore,
  notAfter,
});

/** The extension's critical flag and its DER value. */
function extension(der: Uint8Array, oid: string): { critical: boolean; value: ArrayBuffer } {
  const e = asn1(der).ext(oid);
  if (!e) throw new Error(`extension ${oid} missing`);
  return { critical: e.critical, value: e.extnValue.buffer };
}

/** RFC 5280 §4.2.1.2 method 1, computed independently from the key's raw point. */
function ecSki(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ]);
  return createHash('sha1').update(point).digest('hex');
}

const hex = (b: ArrayBuffer | Uint8Array) =>
  Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');

describe('buildLeafTemplate', () => {
  const x = new X509Certificate(leafDer);
  const { cert } = asn1(leafDer);

  it('is a version 3 certificate issued by the intermediate', () => {
    expect(cert.tbsCertificate.version).toBe(2);
    expect(x.checkIssued(new X509Certificate(intermediate.der))).toBe(true);
  });

  it('has an empty subject', () => {
    expect(cert.tbsCertificate.subject).toHaveLength(0);
    expect(x.subject ?? '').toBe('');
  });

  it('carries exactly one URI SAN, the SPIFFE ID, next to the DNS names', () => {
    expect(readSans(leafDer)).toEqual({
      uris: ['spiffe://example.org/web'],
      dnsNames: ['web.example.org'],
      ipAddresses: [],
    });
  });

  it('marks the SAN extension critical because the subject is empty', () => {
    expect(extension(leafDer, id_ce_subjectAltName).critical).toBe(true);
  });

  it('has a critical basicConstraints CA:false without a path length', () => {
    const e = extension(leafDer, id_ce_basicConstraints);
    expect(e.critical).toBe(true);
    const bc = AsnConvert.parse(e.value, BasicConstraints);
    expect(bc.cA).toBe(false);
    expect(bc.pathLenConstraint).toBeUndefined();
    expect(x.ca).toBe(false);
  });

  it('has a critical keyUsage of digitalSignature only for an EC key', () => {
    const e = extension(leafDer, id_ce_keyUsage);
    expect(e.critical).toBe(true);
    // BIT STRING, 7 unused bits, 0x80 = digitalSignature (bit 0) alone.
    expect(hex(e.value)).toBe('03020780');
  });

  it('adds keyEncipherment for an RSA key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const der = makeLeaf(intermediate, 'spiffe://example.org/rsa', {
      publicKey: rsa.publicKey,
      keyType: 'rsa',
      notBefore,
      notAfter,
    });
    const e = extension(der, id_ce_keyUsage);
    expect(e.critical).toBe(true);
    // 5 unused bits, 0xa0 = digitalSignature (bit 0) + keyEncipherment (bit 2).
    expect(hex(e.value)).toBe('030205a0');
  });

  it('gives an Ed25519 key digitalSignature only', () => {
    const ed = generateKeyPairSync('ed25519');
    const der = makeLeaf(intermediate, 'spiffe://example.org/ed', {
      publicKey: ed.publicKey,
      keyType: 'ed25519',
      notBefore,
      notAfter,
    });
    expect(hex(extension(der, id_ce_keyUsage).value)).toBe('03020780');
  });

  it('allows both serverAuth and clientAuth and nothing else', () => {
    const eku = AsnConvert.parse(extension(leafDer, id_ce_extKeyUsage).value, ExtendedKeyUsage);
    expect([...eku].sort()).toEqual([id_kp_clientAuth, id_kp_serverAuth].sort());
    expect(x.keyUsage.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  });

  it('has an SKI of the SHA-1 of its public key and an AKI equal to the issuer’s SKI', () => {
    const ski = AsnConvert.parse(extension(leafDer, id_ce_subjectKeyIdentifier).value, SubjectKeyIdentifier);
    expect(hex(ski.buffer)).toBe(ecSki(leafKey.publicKey));
    const aki = AsnConvert.parse(
      extension(leafDer, id_ce_authorityKeyIdentifier).value,
      AuthorityKeyIdentifier,
    );
    const issuerSki = AsnConvert.parse(
      extension(intermediate.der, id_ce_subjectKeyIdentifier).value,
      SubjectKeyIdentifier,
    );
    expect(aki.keyIdentifier).toBeDefined();
    expect(hex(aki.keyIdentifier!.buffer)).toBe(hex(issuerSki.buffer));
    expect(hex(aki.keyIdentifier!.buffer)).not.toBe(hex(ski.buffer));
  });

  it('has a positive serial of at least 128 bits, different for every leaf', () => {
    const serial = new Uint8Array(cert.tbsCertificate.serialNumber);
    expect(serial[0]! & 0x80).toBe(0);
    expect(serial[0]).not.toBe(0);
    const bits = (serial.length - 1) * 8 + serial[0]!.toString(2).length;
    expect(bits).toBeGreaterThanOrEqual(128);
    const other = makeLeaf(intermediate, 'spiffe://example.org/web', { notBefore, notAfter });
    expect(new X509Certificate(other).serialNumber).not.toBe(x.serialNumber);
  });

  it('is valid exactly from notBefore to notAfter as given', () => {
    expect(new Date(x.validFrom).getTime()).toBe(notBefore.getTime());
    expect(new Date(x.validTo).getTime()).toBe(notAfter.getTime());
  });

  it('carries exactly the six extensions of an X.509-SVID', () => {
    const oids = cert.tbsCertificate.extensions!.map((e) => e.extnID).sort();
    expect(oids).toEqual(
      [
        id_ce_basicConstraints,
        id_ce_keyUsage,
        id_ce_extKeyUsage,
        id_ce_subjectAltName,
        id_ce_subjectKeyIdentifier,
        id_ce_authorityKeyIdentifier,
      ].sort(),
    );
  });
});

describe('buildCaTemplate', () => {
  it('makes a self-signed root: critical CA:true without path length, keyCertSign|cRLSign, SKI', () => {
    const bc = extension(root.der, id_ce_basicConstraints);
    expect(bc.critical).toBe(true);
    const parsed = AsnConvert.parse(bc.value, BasicConstraints);
    expect(parsed.cA).toBe(true);
    expect(parsed.pathLenConstraint).toBeUndefined();
    const ku = extension(root.der, id_ce_keyUsage);
    expect(ku.critical).toBe(true);
    // 1 unused bit, 0x06 = keyCertSign (bit 5) + cRLSign (bit 6).
    expect(hex(ku.value)).toBe('03020106');
    const x = new X509Certificate(root.der);
    expect(x.ca).toBe(true);
    expect(x.subject).toBe(x.issuer);
    expect(x.subject).toContain('Test Root');
    expect(asn1(root.der).ext(id_ce_subjectKeyIdentifier)).toBeDefined();
    expect(asn1(root.der).ext(id_ce_nameConstraints)).toBeUndefined();
  });

  it('makes an intermediate with pathLen 0 and its issuer’s subject and key id', () => {
    const parsed = AsnConvert.parse(
      extension(intermediate.der, id_ce_basicConstraints).value,
      BasicConstraints,
    );
    expect(parsed.cA).toBe(true);
    expect(parsed.pathLenConstraint).toBe(0);
    expect(extension(intermediate.der, id_ce_basicConstraints).critical).toBe(true);
    expect(hex(extension(intermediate.der, id_ce_keyUsage).value)).toBe('03020106');
    const x = new X509Certificate(intermediate.der);
    expect(x.checkIssued(new X509Certificate(root.der))).toBe(true);
    const aki = AsnConvert.parse(
      extension(intermediate.der, id_ce_authorityKeyIdentifier).value,
      AuthorityKeyIdentifier,
    );
    expect(hex(aki.keyIdentifier!.buffer)).toBe(hex(root.info.subjectKeyId));
  });

  it('gives the intermediate a critical nameConstraints permitting only the trust domain URI', () => {
    const e = extension(intermediate.der, id_ce_nameConstraints);
    expect(e.critical).toBe(true);
    const nc = AsnConvert.parse(e.value, NameConstraints);
    expect(nc.excludedSubtrees).toBeUndefined();
    expect(nc.permittedSubtrees).toHaveLength(1);
    expect(nc.permittedSubtrees![0]!.base.uniformResourceIdentifier).toBe('example.org');
  });
});

describe('randomSerial', () => {
  it('is 17 bytes with the first byte in 0x01..0x7f', () => {
    for (let i = 0; i < 200; i++) {
      const s = new Uint8Array(randomSerial());
      expect(s).toHaveLength(17);
      expect(s[0]).toBeGreaterThanOrEqual(1);
      expect(s[0]).toBeLessThanOrEqual(0x7f);
    }
  });
});

describe('subjectKeyIdFor', () => {
  it('is the SHA-1 of the subjectPublicKey bits', () => {
    const { publicKey } = ecKey('secp384r1');
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    expect(hex(subjectKeyIdFor(spki))).toBe(ecSki(publicKey));
  });
});
