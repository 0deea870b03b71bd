import { describe, expect, it } from 'vitest';
import { judgeIntrospection } from './introspection.js';

const o = { issuer: 'https://as.example', audience: 'orders', nowMs: 1_000_000_000 };

describe('introspection answers (RFC 7662)', () => {
  it('accepts an active token for our audience', () => {
    const a = judgeIntrospection({ active: true, iss: o.issuer, aud: ['orders'], exp: 2_000_000 }, o);
    expect(a.ok).toBe(true);
  });

  it.each([
    [{ active: false }, 'inactive'],
    [{ active: true, iss: 'https://evil' }, 'wrong_issuer'],
    [{ active: true, aud: 'payments' }, 'wrong_audience'],
    [{ active: true, exp: 999_999 }, 'expired'],
    ['not json', 'malformed'],
  ])('rejects %j as %s', (body, reason) => {
    const a = judgeIntrospection(body, o);
    expect(a).toMatchObject({ ok: false, status: 401, error: 'invalid_token', reason });
  });
});
