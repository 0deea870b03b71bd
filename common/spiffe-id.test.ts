import { describe, expect, it } from 'vitest';
import { TetherError } from './errors.js';
import { parseSpiffeId, parseTrustDomain, parseWorkloadId } from './spiffe-id.js';

function rejection(input: string, parse: (s: string) => unknown = parseSpiffeId): TetherError {
  try {
    parse(input);
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('parseSpiffeId', () => {
  it('splits a valid ID into trust domain and path and keeps the canonical text', () => {
    const id = parseSpiffeId('spiffe://example.org/ns/default/sa/web');
    expect(id.trustDomain).toBe('example.org');
    expect(id.path).toBe('/ns/default/sa/web');
    expect(id.toString()).toBe('spiffe://example.org/ns/default/sa/web');
    expect(String(id)).toBe('spiffe://example.org/ns/default/sa/web');
  });

  it('accepts a bare trust-domain ID with an empty path', () => {
    const id = parseSpiffeId('spiffe://example.org');
    expect(id.trustDomain).toBe('example.org');
    expect(id.path).toBe('');
  });

  it('accepts every character the spec allows in the trust domain and path', () => {
    const id = parseSpiffeId('spiffe://my_td-1.example.org/Path-A/b_c.d/0123');
    expect(id.trustDomain).toBe('my_td-1.example.org');
    expect(id.path).toBe('/Path-A/b_c.d/0123');
  });

  it('accepts segments that merely contain dots, such as "..." and ".hidden"', () => {
    expect(parseSpiffeId('spiffe://example.org/.../.hidden').path).toBe('/.../.hidden');
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parseSpiffeId('spiffe://example.org/a'))).toBe(true);
  });

  it('refuses an uppercase trust domain', () => {
    expect(rejection('spiffe://Example.org/a').code).toBe('ERR_SPIFFE_ID_INVALID');
  });

  it('refuses an uppercase scheme', () => {
    expect(rejection('SPIFFE://example.org/a').code).toBe('ERR_SPIFFE_ID_INVALID');
  });

  it.each([
    ['a wrong scheme', 'https://example.org/a'],
    ['a missing scheme', 'example.org/a'],
    ['a port', 'spiffe://example.org:8443/a'],
    ['userinfo', 'spiffe://user@example.org/a'],
    ['userinfo with password', 'spiffe://user:pw@example.org/a'],
    ['a query', 'spiffe://example.org/a?x=1'],
    ['a fragment', 'spiffe://example.org/a#frag'],
    ['a query on the trust domain', 'spiffe://example.org?x=1'],
    ['percent-encoding in the path', 'spiffe://example.org/a%20b'],
    ['percent-encoding in the trust domain', 'spiffe://exa%6Dple.org/a'],
    ['an empty trust domain', 'spiffe:///a'],
    ['an empty segment', 'spiffe://example.org/a//b'],
    ['a "." segment', 'spiffe://example.org/a/./b'],
    ['a ".." segment', 'spiffe://example.org/a/../b'],
    ['a final ".." segment', 'spiffe://example.org/..'],
    ['a trailing slash', 'spiffe://example.org/a/'],
    ['a lone slash path', 'spiffe://example.org/'],
    ['a space in the path', 'spiffe://example.org/a b'],
    ['a "*" in the path', 'spiffe://example.org/a*'],
    ['a non-ASCII path', 'spiffe://example.org/caf\u00e9'],
    ['a "+" in the trust domain', 'spiffe://exa+mple.org/a'],
    ['an empty string', ''],
  ])('refuses %s', (_what, input) => {
    expect(rejection(input).code).toBe('ERR_SPIFFE_ID_INVALID');
  });

  it('accepts an ID of exactly 2048 bytes and refuses one of 2049', () => {
    const prefix = 'spiffe://example.org/';
    const exact = prefix + 'a'.repeat(2048 - prefix.length);
    expect(parseSpiffeId(exact).toString()).toHaveLength(2048);
    expect(rejection(`${exact}b`).message).toMatch(/2048/);
  });

  it('counts the 2048-byte limit in UTF-8 bytes, not characters', () => {
    // 1020 two-byte characters are under 2048 characters but over 2048 bytes.
    const input = `spiffe://example.org/${'\u00e9'.repeat(1020)}`;
    expect(input.length).toBeLessThan(2048);
    expect(rejection(input).message).toMatch(/2048 bytes/);
  });

  it('accepts a 255-byte trust domain and refuses a 256-byte one', () => {
    expect(parseSpiffeId(`spiffe://${'a'.repeat(255)}/x`).trustDomain).toHaveLength(255);
    expect(rejection(`spiffe://${'a'.repeat(256)}/x`).message).toMatch(/255/);
  });

  it('names the problem in the error message', () => {
    expect(rejection('spiffe://example.org/a/').message).toMatch(/trailing/);
    expect(rejection('spiffe://example.org:1/a').message).toMatch(/port/);
    expect(rejection('spiffe://u@example.org/a').message).toMatch(/userinfo/);
  });
});

describe('parseTrustDomain', () => {
  it('returns a valid trust domain unchanged', () => {
    expect(parseTrustDomain('prod.example.org')).toBe('prod.example.org');
  });

  it.each(['', 'Example.org', 'example.org/x', 'example.org:80', 'ex ample.org'])('refuses %j', (input) => {
    expect(rejection(input, parseTrustDomain).code).toBe('ERR_SPIFFE_ID_INVALID');
  });
});

describe('parseWorkloadId', () => {
  it('accepts an ID with a path', () => {
    expect(parseWorkloadId('spiffe://example.org/web').path).toBe('/web');
  });

  it('refuses a bare trust-domain ID', () => {
    expect(rejection('spiffe://example.org', parseWorkloadId).message).toMatch(/needs a path/);
  });

  it('still applies every spec check', () => {
    expect(rejection('spiffe://example.org/a/../b', parseWorkloadId).code).toBe('ERR_SPIFFE_ID_INVALID');
  });
});
