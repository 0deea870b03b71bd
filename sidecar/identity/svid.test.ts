import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certsToPem } from '../../common/pem.js';
import { ecKey, HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { isValidAt, makeBundle, makeSvid } from './svid.js';

const now = Date.UTC(2030, 0, 1, 12, 0, 0);
const notBefore = now - 60_000;
const notAfter = now + HOUR_MS;
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const WEB = 'spiffe://example.org/ns/shop/sa/web';
const key = ecKey();
const leaf = makeLeaf(intermediate, WEB, {
  publicKey: key.publicKey,
  notBefore: new Date(notBefore),
  notAfter: new Date(notAfter),
});
const receivedAt = now + 5000;
const svid = makeSvid(key.privateKey, [leaf, intermediate.der], receivedAt);

describe('makeSvid', () => {
  it("reads the SPIFFE ID from the leaf's URI SAN", () => {
    expect(svid.spiffeId).toBe(WEB);
  });

  it('reads the serial as lowercase hex without leading zeros or colons', () => {
    const serial = new X509Certificate(leaf).serialNumber.toLowerCase().replace(/^(00)+/, '');
    expect(svid.serial).toBe(serial);
    expect(svid.serial).toMatch(/^[0-9a-f]+$/);
    expect(svid.serial).not.toMatch(/^00/);
  });

  it('reads notBefore and notAfter as epoch milliseconds', () => {
    expect(svid.notBefore).toBe(notBefore);
    expect(svid.notAfter).toBe(notAfter);
  });

  it('keeps the receipt time, the key and the chain, leaf first', () => {
    expect(svid.receivedAt).toBe(receivedAt);
    expect(svid.key).toBe(key.privateKey);
    expect(svid.keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(svid.chain).toEqual([leaf, intermediate.der]);
    expect(svid.chainPem).toBe(certsToPem([leaf, intermediate.der]));
    expect(svid.leaf.raw.equals(leaf)).toBe(true);
  });
});

describe('makeBundle', () => {
  it('holds the roots, their PEM and the sequence', () => {
    expect(makeBundle([root.der], 7)).toEqual({
      roots: [root.der],
      pem: certsToPem([root.der]),
      sequence: 7,
    });
  });
});

describe('isValidAt', () => {
  it('is valid from notBefore inclusive', () => {
    expect(isValidAt(svid, notBefore - 1)).toBe(false);
    expect(isValidAt(svid, notBefore)).toBe(true);
  });

  it('is valid inside the window', () => {
    expect(isValidAt(svid, now)).toBe(true);
  });

  it('is no longer valid at notAfter', () => {
    expect(isValidAt(svid, notAfter - 1)).toBe(true);
    expect(isValidAt(svid, notAfter)).toBe(false);
    expect(isValidAt(svid, notAfter + 1)).toBe(false);
  });
});
