import { describe, expect, it } from 'vitest';
import { compileAllowList } from './allow.js';

describe('compileAllowList', () => {
  it('admits exactly the listed IDs', () => {
    const allow = compileAllowList(['spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/api']);
    expect(allow('spiffe://example.org/ns/shop/sa/web')).toBe(true);
    expect(allow('spiffe://example.org/api')).toBe(true);
    expect(allow('spiffe://example.org/ns/shop/sa/webx')).toBe(false);
    expect(allow('spiffe://example.org/ns/shop/sa/web/child')).toBe(false);
    expect(allow('spiffe://example.org/ns/shop/sa')).toBe(false);
    expect(allow('spiffe://example.org/API')).toBe(false);
  });

  it('admits nobody when the list is empty', () => {
    const allow = compileAllowList([]);
    expect(allow('spiffe://example.org/ns/shop/sa/web')).toBe(false);
    expect(allow('')).toBe(false);
  });

  it('admits IDs below a /* prefix', () => {
    const allow = compileAllowList(['spiffe://example.org/ns/shop/*']);
    expect(allow('spiffe://example.org/ns/shop/sa/web')).toBe(true);
    expect(allow('spiffe://example.org/ns/shop/x')).toBe(true);
  });

  it('does not admit the prefix itself', () => {
    const allow = compileAllowList(['spiffe://example.org/ns/shop/*']);
    expect(allow('spiffe://example.org/ns/shop')).toBe(false);
    expect(allow('spiffe://example.org/ns/shop/')).toBe(false);
  });

  it('does not admit a sibling path that merely shares the prefix text', () => {
    const allow = compileAllowList(['spiffe://example.org/ns/shop/*']);
    expect(allow('spiffe://example.org/ns/shopping/sa/x')).toBe(false);
    expect(allow('spiffe://example.org/ns/other/sa/web')).toBe(false);
  });

  it('admits any ID in the trust domain with spiffe://td/*', () => {
    const allow = compileAllowList(['spiffe://example.org/*']);
    expect(allow('spiffe://example.org/x')).toBe(true);
    expect(allow('spiffe://example.org/ns/shop/sa/web')).toBe(true);
  });

  it('does not let spiffe://td/* admit a trust domain that starts with the same text', () => {
    const allow = compileAllowList(['spiffe://example.org/*']);
    expect(allow('spiffe://example.org.evil/x')).toBe(false);
    expect(allow('spiffe://example.org')).toBe(false);
    expect(allow('spiffe://example.org/')).toBe(false);
  });

  it('never matches across trust domains', () => {
    const allow = compileAllowList(['spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/db/*']);
    expect(allow('spiffe://other.org/ns/shop/sa/web')).toBe(false);
    expect(allow('spiffe://other.org/ns/db/sa/pg')).toBe(false);
    expect(allow('spiffe://example.com/ns/db/sa/pg')).toBe(false);
  });

  it('combines exact IDs and prefixes', () => {
    const allow = compileAllowList(['spiffe://example.org/ns/shop/sa/web', 'spiffe://example.org/ns/db/*']);
    expect(allow('spiffe://example.org/ns/shop/sa/web')).toBe(true);
    expect(allow('spiffe://example.org/ns/db/sa/pg')).toBe(true);
    expect(allow('spiffe://example.org/ns/shop/sa/api')).toBe(false);
  });
});
