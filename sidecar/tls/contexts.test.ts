import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeLeafWithSans } from '../../test/helpers/odd-leaf.js';
import { ecKey, HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { type IdentityState, makeBundle, makeSvid } from '../identity/svid.js';
import { clientContext, contextOptions, peerIdentityOf, TLS12_CIPHERS } from './contexts.js';

const now = Date.UTC(2030, 0, 1, 12, 0, 0);
const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + HOUR_MS) };
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const WEB = 'spiffe://example.org/ns/shop/sa/web';
const leafKey = ecKey();
const leaf = makeLeaf(intermediate, WEB, { ...validity, publicKey: leafKey.publicKey });

describe('peerIdentityOf', () => {
  it("returns a leaf's SPIFFE ID and the lowercase hex SHA-256 of its DER", () => {
    const id = peerIdentityOf(leaf);
    expect(id).toEqual({ spiffeId: WEB, certSha256: createHash('sha256').update(leaf).digest('hex') });
    if ('error' in id) throw new Error(id.error);
    expect(id.certSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('accepts a leaf that also carries DNS names', () => {
    const raw = makeLeaf(intermediate, WEB, { ...validity, dnsNames: ['web.example.org'] });
    expect(peerIdentityOf(raw)).toMatchObject({ spiffeId: WEB });
  });

  it('refuses a CA certificate', () => {
    expect(peerIdentityOf(intermediate.der)).toEqual({ error: 'peer certificate is a CA' });
    expect(peerIdentityOf(root.der)).toEqual({ error: 'peer certificate is a CA' });
  });

  it('refuses a certificate with two URI SANs', () => {
    const raw = makeLeafWithSans(intermediate, { uris: [WEB, 'spiffe://example.org/other'] }, validity);
    expect(peerIdentityOf(raw)).toEqual({ error: 'peer certificate has no single SPIFFE ID' });
  });

  it('refuses a certificate without a URI SAN', () => {
    const noUri = makeLeafWithSans(intermediate, { uris: [], dnsNames: ['web.example.org'] }, validity);
    expect(peerIdentityOf(noUri)).toEqual({ error: 'peer certificate has no single SPIFFE ID' });
    const noSan = makeLeafWithSans(intermediate, { uris: [] }, validity);
    expect(peerIdentityOf(noSan)).toEqual({ error: 'peer certificate has no single SPIFFE ID' });
  });

  it('refuses a single URI SAN that is not a SPIFFE ID', () => {
    const raw = makeLeafWithSans(intermediate, { uris: ['https://example.org/web'] }, validity);
    expect(peerIdentityOf(raw)).toEqual({ error: 'peer certificate has no single SPIFFE ID' });
  });

  it('remembers the identity of a certificate it has seen, keyed by its bytes', () => {
    const first = peerIdentityOf(leaf);
    expect(peerIdentityOf(Buffer.from(leaf))).toBe(first);
    const other = makeLeaf(intermediate, 'spiffe://example.org/ns/shop/sa/orders', validity);
    expect(peerIdentityOf(other)).toMatchObject({ spiffeId: 'spiffe://example.org/ns/shop/sa/orders' });
    expect(peerIdentityOf(leaf)).toBe(first);
    expect(peerIdentityOf(intermediate.der)).toEqual({ error: 'peer certificate is a CA' });
  });

  it('reports a missing or empty client certificate', () => {
    expect(peerIdentityOf(undefined)).toEqual({ error: 'no client certificate' });
    expect(peerIdentityOf(Buffer.alloc(0))).toEqual({ error: 'no client certificate' });
  });
});

describe('contextOptions', () => {
  const svid = makeSvid(leafKey.privateKey, [leaf, intermediate.der], now);
  const bundle = makeBundle([root.der], 1);
  const state: IdentityState = { svid, bundle };

  it('returns null without a certificate', () => {
    expect(contextOptions({ svid: null, bundle }, 'TLSv1.3')).toBeNull();
    expect(clientContext({ svid: null, bundle }, 'TLSv1.3')).toBeNull();
  });

  it('returns null without a bundle', () => {
    expect(contextOptions({ svid, bundle: null }, 'TLSv1.3')).toBeNull();
    expect(contextOptions({ svid: null, bundle: null }, 'TLSv1.2')).toBeNull();
  });

  it('holds our key and chain and trusts the bundle, TLS 1.3 without a cipher list', () => {
    const options = contextOptions(state, 'TLSv1.3');
    expect(options).toEqual({
      key: svid.keyPem,
      cert: svid.chainPem,
      ca: bundle.pem,
      minVersion: 'TLSv1.3',
    });
    expect(options).not.toHaveProperty('ciphers');
  });

  it('restricts ciphers to forward-secret AEAD suites only when TLS 1.2 is allowed', () => {
    const options = contextOptions(state, 'TLSv1.2');
    expect(options?.minVersion).toBe('TLSv1.2');
    expect(options?.ciphers).toBe(TLS12_CIPHERS);
    for (const suite of TLS12_CIPHERS.split(':')) {
      expect(suite).toMatch(/^ECDHE-(ECDSA|RSA)-/);
      expect(suite).toMatch(/GCM|CHACHA20-POLY1305/);
    }
  });

  it('builds a usable client secure context', () => {
    const context = clientContext(state, 'TLSv1.3');
    expect(context).not.toBeNull();
    expect(context?.context).toBeDefined();
    expect(clientContext(state, 'TLSv1.2')?.context).toBeDefined();
  });
});
