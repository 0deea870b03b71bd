// Property tests for the JWT access-token validator: no mutation of a valid token is accepted,
// and no unsigned, re-signed or HMAC-with-the-public-key token passes, whatever its claims say.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { createLocalJWKSet, exportJWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateJwt } from './validator.js';

const ISSUER = 'https://as.example.org';
const AUD = 'orders';
const NOW = Date.UTC(2030, 0, 1, 12);
const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
let keys: ReturnType<typeof createLocalJWKSet>;
let valid = '';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: AUD,
  sub: 'spiffe://example.org/ns/shop/sa/web',
  iat: NOW / 1000,
  exp: NOW / 1000 + 600,
  ...extra,
});
const validate = (token: string) =>
  validateJwt(token, { issuer: ISSUER, audience: AUD, keys, now: () => NOW });

beforeAll(async () => {
  const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256' };
  keys = createLocalJWKSet({ keys: [jwk] });
  valid = await new SignJWT(claims())
    .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
    .sign(signing.privateKey);
});

describe('validateJwt under mutation', () => {
  it('accepts the valid token (the properties below are not vacuous)', async () => {
    expect((await validate(valid)).ok).toBe(true);
  });

  it('rejects every single-character change to a valid token', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(fc.nat(valid.length - 1), fc.constantFrom(...alphabet.split('')), async (at, c) => {
        fc.pre(valid[at] !== c);
        const mutated = valid.slice(0, at) + c + valid.slice(at + 1);
        // base64url's last character carries spare bits: a change there may decode to the same bytes.
        const sameBytes = (s: string) =>
          s
            .split('.')
            .map((p) => Buffer.from(p, 'base64url').toString('hex'))
            .join('.');
        fc.pre(sameBytes(mutated) !== sameBytes(valid));
        const r = await validate(mutated);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects truncations and appended garbage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(valid.length - 1), fc.string({ maxLength: 8 }), async (cut, tail) => {
        const r = await validate(valid.slice(0, cut) + tail);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});

describe('validateJwt against forged tokens with arbitrary claims', () => {
  const extra = fc.record(
    { scope: fc.string({ maxLength: 20 }), jti: fc.string({ maxLength: 10 }) },
    { requiredKeys: [] },
  );

  it('never accepts an unsigned (alg none) token', async () => {
    await fc.assert(
      fc.asyncProperty(
        extra,
        fc.constantFrom('none', 'None', 'NONE', 'nOnE'),
        fc.constantFrom('', 'sig'),
        async (x, alg, sig) => {
          const token = `${b64({ alg, typ: 'at+jwt', kid: 'k1' })}.${b64(claims(x))}.${sig}`;
          expect((await validate(token)).ok).toBe(false);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('never accepts a token re-signed by another key under the real kid', async () => {
    await fc.assert(
      fc.asyncProperty(extra, async (x) => {
        const token = await new SignJWT(claims(x))
          .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ: 'at+jwt' })
          .sign(attacker.privateKey);
        expect(await validate(token)).toMatchObject({ ok: false, reason: 'bad_signature' });
      }),
      { numRuns: 30 },
    );
  });

  it('never accepts HS256 keyed with the public key (algorithm confusion)', async () => {
    const pem = signing.publicKey.export({ type: 'spki', format: 'pem' });
    await fc.assert(
      fc.asyncProperty(extra, fc.constantFrom('HS256', 'HS384', 'HS512'), async (x, alg) => {
        const input = `${b64({ alg, typ: 'at+jwt', kid: 'k1' })}.${b64(claims(x))}`;
        const hash = `sha${alg.slice(2)}`;
        const token = `${input}.${createHmac(hash, pem).update(input).digest('base64url')}`;
        expect((await validate(token)).ok).toBe(false);
      }),
      { numRuns: 30 },
    );
  });

  it('never accepts a validly signed token whose issuer, audience, typ or expiry is wrong', async () => {
    const wrong = fc.oneof(
      fc.record({ iss: fc.string({ maxLength: 30 }).filter((s) => s !== ISSUER) }),
      fc.record({ aud: fc.string({ maxLength: 10 }).filter((s) => s !== AUD) }),
      fc.record({ exp: fc.integer({ min: 0, max: NOW / 1000 - 61 }) }),
      fc.record({ iat: fc.integer({ min: NOW / 1000 + 61, max: NOW / 1000 + 1e7 }) }),
    );
    await fc.assert(
      fc.asyncProperty(wrong, fc.constantFrom('at+jwt', 'JWT', 'jwt'), async (w, typ) => {
        const token = await new SignJWT(claims(w))
          .setProtectedHeader({ alg: 'ES256', kid: 'k1', typ })
          .sign(signing.privateKey);
        expect((await validate(token)).ok).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
