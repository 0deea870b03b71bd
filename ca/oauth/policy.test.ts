import { describe, expect, it } from 'vitest';
import { clientMatches, ScopePolicy } from './policy.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';

describe('clientMatches', () => {
  it('matches exact IDs only exactly', () => {
    expect(clientMatches(WEB, WEB)).toBe(true);
    expect(clientMatches(WEB, `${WEB}2`)).toBe(false);
    expect(clientMatches(WEB, 'spiffe://example.org/ns/shop/sa')).toBe(false);
  });

  it('matches a /* prefix on whole path segments, not the prefix itself', () => {
    const p = 'spiffe://example.org/ns/shop/*';
    expect(clientMatches(p, WEB)).toBe(true);
    expect(clientMatches(p, 'spiffe://example.org/ns/shop/x')).toBe(true);
    expect(clientMatches(p, 'spiffe://example.org/ns/shop')).toBe(false);
    expect(clientMatches(p, 'spiffe://example.org/ns/shopping/x')).toBe(false);
    expect(clientMatches(p, 'spiffe://other.org/ns/shop/x')).toBe(false);
  });
});

describe('ScopePolicy', () => {
  const policy = new ScopePolicy([
    { clients: [WEB], audience: 'orders', scopes: ['read:orders'] },
    { clients: ['spiffe://example.org/ns/shop/*'], audience: 'orders', scopes: ['list:orders'] },
    { clients: ['spiffe://example.org/ns/shop/*'], audience: 'stock', scopes: [] },
  ]);

  it('unions the scopes of every rule naming the client and audience', () => {
    expect([...policy.allowedScopes(WEB, 'orders')!].sort()).toEqual(['list:orders', 'read:orders']);
    expect([...policy.allowedScopes('spiffe://example.org/ns/shop/sa/cart', 'orders')!]).toEqual([
      'list:orders',
    ]);
  });

  it('denies by default: unknown clients and audiences get null', () => {
    expect(policy.allowedScopes('spiffe://example.org/ns/other/sa/x', 'orders')).toBeNull();
    expect(policy.allowedScopes(WEB, 'payments')).toBeNull();
    expect(new ScopePolicy([]).allowedScopes(WEB, 'orders')).toBeNull();
  });

  it('allows an audience with no scopes as an empty set, not null', () => {
    expect(policy.allowedScopes(WEB, 'stock')?.size).toBe(0);
  });

  it('lists audiences per client and every supported scope', () => {
    expect(policy.audiencesFor(WEB)).toEqual(['orders', 'stock']);
    expect(policy.audiencesFor('spiffe://example.org/x')).toEqual([]);
    expect(policy.scopesSupported()).toEqual(['list:orders', 'read:orders']);
  });

  it('refuses a client pattern that is not a SPIFFE ID', () => {
    expect(
      () => new ScopePolicy([{ clients: ['spiffe://Example.org/x'], audience: 'a', scopes: [] }]),
    ).toThrow(/not a SPIFFE ID/);
  });
});
