import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certsToPem } from '../../common/pem.js';
import { HOUR_MS, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import type { InboundTokenConfig } from '../config/load.js';
import type { IdentityState } from '../identity/svid.js';
import { challengeFor, type TokenRejection } from './challenge.js';
import { createTokenCheck, type TokenDecision } from './inbound-check.js';

const AUD = 'https://orders.example.org';
const now = Date.now();
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + HOUR_MS));
const serverKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const serverCert = makeLeaf(root, 'spiffe://example.org/as', {
  publicKey: serverKey.publicKey,
  dnsNames: ['localhost'],
  notBefore: new Date(now - HOUR_MS),
  notAfter: new Date(now + HOUR_MS),
});
const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const stranger = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const thumb = (s: string) => createHash('sha256').update(s).digest('base64url');
const webX5t = thumb('web certificate');
const otherX5t = thumb('another allowed certificate');

let server: https.Server;
let issuer = '';
let jwksHits = 0;
let check: (headers: Record<string, string>, peerX5t?: string, url?: string) => Promise<TokenDecision>;

beforeAll(async () => {
  const jwk = { ...(await exportJWK(signing.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = https.createServer(
    { key: serverKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: certsToPem([serverCert]) },
    (req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/jwks') {
        jwksHits++;
        res.end(JSON.stringify({ keys: [jwk] }));
      } else if (req.url === '/.well-known/oauth-authorization-server')
        res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, token_endpoint: `${issuer}/token` }));
      else res.writeHead(404).end('{}');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  const cfg: InboundTokenConfig = {
    issuer,
    audience: AUD,
    scopes: ['read:orders'],
    mode: 'jwt',
    caFile: undefined,
    paths: [{ prefix: '/admin', scopes: ['admin:orders'] }],
  };
  const state = (): IdentityState => ({
    svid: null,
    bundle: { roots: [root.der], pem: certsToPem([root.der]), sequence: 1 },
  });
  const gate = createTokenCheck(cfg, { state, now: () => Date.now() });
  check = (headers, peerX5t = webX5t, url = '/orders') => gate({ headers, url, peerX5t });
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

interface Build {
  claims?: Record<string, unknown>;
  header?: Record<string, unknown>;
  key?: KeyObject;
  noExp?: boolean;
  expSeconds?: number;
}

async function token(b: Build = {}): Promise<string> {
  const t = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    aud: AUD,
    sub: 'spiffe://example.org/ns/shop/sa/web',
    client_id: 'spiffe://example.org/ns/shop/sa/web',
    iat: t,
    jti: 'j1',
    scope: 'read:orders',
    cnf: { 'x5t#S256': webX5t },
    ...(b.noExp ? {} : { exp: t + (b.expSeconds ?? 300) }),
    ...b.claims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...b.header })
    .sign(b.key ?? signing.privateKey);
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function expectRejected(
  d: TokenDecision,
  status: number,
  error: string | undefined,
  reason: string,
): TokenRejection {
  expect(d.ok).toBe(false);
  const r = d as TokenRejection;
  expect({ status: r.status, error: r.error, reason: r.reason }).toEqual({ status, error, reason });
  return r;
}

describe('inbound token check (jwt mode)', () => {
  it('accepts a valid token bound to the presenting certificate', async () => {
    const d = await check(bearer(await token()));
    expect(d.ok).toBe(true);
    expect(jwksHits).toBeGreaterThan(0);
  });

  it('answers a bare Bearer challenge when no token was sent', async () => {
    const r = expectRejected(await check({}), 401, undefined, 'no_token');
    expect(challengeFor(r)).toBe('Bearer');
  });

  it('ignores a token in the query string', async () => {
    const d = await check({}, webX5t, `/orders?access_token=${await token()}`);
    expectRejected(d, 401, undefined, 'no_token');
  });

  it('rejects alg none', async () => {
    const t = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(JSON.parse(Buffer.from((await token()).split('.')[1]!, 'base64url').toString()))}.`;
    const r = expectRejected(await check(bearer(t)), 401, 'invalid_token', 'alg_not_allowed');
    expect(challengeFor(r)).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
  });

  it('rejects HS256 signed with the public key bytes', async () => {
    const pub = signing.publicKey.export({ type: 'spki', format: 'pem' });
    const t = await new SignJWT({ iss: issuer, aud: AUD, exp: Math.floor(Date.now() / 1000) + 300 })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })
      .sign(new Uint8Array(Buffer.from(pub)));
    expectRejected(await check(bearer(t)), 401, 'invalid_token', 'alg_not_allowed');
  });

  it('rejects a token signed by another key under the same kid', async () => {
    expectRejected(
      await check(bearer(await token({ key: stranger.privateKey }))),
      401,
      'invalid_token',
      'bad_signature',
    );
  });

  it('rejects a token whose kid the AS does not publish', async () => {
    const t = await token({ key: stranger.privateKey, header: { kid: 'unknown' } });
    expectRejected(await check(bearer(t)), 401, 'invalid_token', 'unknown_key');
  });

  it('rejects an expired token (beyond the 60 s skew)', async () => {
    expectRejected(await check(bearer(await token({ expSeconds: -120 }))), 401, 'invalid_token', 'expired');
  });

  it('accepts a token expired within the 60 s skew', async () => {
    expect((await check(bearer(await token({ expSeconds: -30 })))).ok).toBe(true);
  });

  it('rejects the wrong issuer', async () => {
    const t = await token({ claims: { iss: 'https://evil.example' } });
    expectRejected(await check(bearer(t)), 401, 'invalid_token', 'wrong_issuer');
  });

  it('rejects the wrong audience', async () => {
    const t = await token({ claims: { aud: 'https://payments.example.org' } });
    expectRejected(await check(bearer(t)), 401, 'invalid_token', 'wrong_audience');
  });

  it('rejects a token without exp', async () => {
    expectRejected(await check(bearer(await token({ noExp: true }))), 401, 'invalid_token', 'missing_exp');
  });

  it('rejects an ID-token-typed JWT signed by the same key', async () => {
    const t = await token({ header: { typ: 'JWT' }, claims: { nonce: 'n' } });
    expectRejected(await check(bearer(t)), 401, 'invalid_token', 'wrong_typ');
  });

  it('rejects a token issued more than 60 s in the future', async () => {
    const t = await token({ claims: { iat: Math.floor(Date.now() / 1000) + 600 } });
    expectRejected(await check(bearer(t)), 401, 'invalid_token', 'not_yet_valid');
  });

  it('rejects a valid token presented over a connection with another certificate', async () => {
    const d = await check(bearer(await token()), otherX5t);
    expectRejected(d, 401, 'invalid_token', 'cnf_mismatch');
  });

  it('rejects a token that is not certificate-bound', async () => {
    expectRejected(
      await check(bearer(await token({ claims: { cnf: undefined } }))),
      401,
      'invalid_token',
      'unbound_token',
    );
  });

  it('answers 403 insufficient_scope naming the scope when one is missing', async () => {
    const r = expectRejected(
      await check(bearer(await token({ claims: { scope: 'write:orders' } }))),
      403,
      'insufficient_scope',
      'insufficient_scope',
    );
    expect(challengeFor(r)).toContain('scope="read:orders"');
  });

  it('requires the scopes of the longest matching path prefix too', async () => {
    const t = await token();
    const r = expectRejected(
      await check(bearer(t), webX5t, '/admin/x'),
      403,
      'insufficient_scope',
      'insufficient_scope',
    );
    expect(r.scope).toBe('read:orders admin:orders');
    expectRejected(
      await check(bearer(t), webX5t, '/orders/../admin'),
      403,
      'insufficient_scope',
      'insufficient_scope',
    );
    const both = await token({ claims: { scope: 'read:orders admin:orders' } });
    expect((await check(bearer(both), webX5t, '/admin/x')).ok).toBe(true);
  });

  it('rejects a non-bearer Authorization header with a bare challenge', async () => {
    expectRejected(await check({ authorization: 'Basic dXNlcjpwYXNz' }), 401, undefined, 'no_token');
  });
});
