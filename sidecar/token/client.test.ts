import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logging.js';
import { certsToPem } from '../../common/pem.js';
import { HOUR_MS, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import type { Svid } from '../identity/svid.js';
import { TokenClient, tokenRequestForm } from './client.js';
import { Discovery, discover } from './discovery.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const t0 = Date.now();
const root = makeRoot(new Date(t0 - HOUR_MS), new Date(t0 + HOUR_MS));
const serverKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const serverCert = makeLeaf(root, 'spiffe://example.org/as', {
  publicKey: serverKey.publicKey,
  dnsNames: ['localhost'],
  notBefore: new Date(t0 - HOUR_MS),
  notAfter: new Date(t0 + HOUR_MS),
});
const ca = certsToPem([root.der]);
const rootsOnly = { secureContext: tls.createSecureContext({ ca }) };
const svid = (serial: string) => ({ serial, spiffeId: WEB }) as Svid;

let server: https.Server;
let issuer = '';
let requests: URLSearchParams[] = [];
let metadataIssuer: (i: string) => string = (i) => i;
let rfc8414 = true;

beforeAll(async () => {
  server = https.createServer(
    { key: serverKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: certsToPem([serverCert]) },
    (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        const meta = { issuer: metadataIssuer(issuer), token_endpoint: `${issuer}/plain-token` };
        if (req.url === '/.well-known/oauth-authorization-server' && rfc8414)
          res.end(JSON.stringify({ ...meta, mtls_endpoint_aliases: { token_endpoint: `${issuer}/token` } }));
        else if (req.url === '/.well-known/openid-configuration') res.end(JSON.stringify(meta));
        else if (req.url === '/token') {
          requests.push(new URLSearchParams(body));
          setTimeout(
            () =>
              res.end(
                JSON.stringify({
                  access_token: `tok-${requests.length}`,
                  token_type: 'Bearer',
                  expires_in: 100,
                }),
              ),
            20,
          );
        } else res.writeHead(404).end('{}');
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function client(now: () => number = Date.now) {
  requests = [];
  return new TokenClient({
    issuer,
    audience: 'https://orders.example.org',
    scope: 'read:orders',
    discovery: new Discovery(issuer, () => rootsOnly, now),
    tls: () => rootsOnly,
    now,
    log: createLogger({ level: 'silent' }),
  });
}

describe('token request form', () => {
  it('sends an absolute-URI audience as resource (RFC 8707) and anything else as audience', () => {
    expect(
      tokenRequestForm(svid('a'), { audience: 'https://orders.example.org', scope: 'read:orders' }),
    ).toEqual({
      grant_type: 'client_credentials',
      client_id: WEB,
      scope: 'read:orders',
      resource: 'https://orders.example.org',
    });
    expect(tokenRequestForm(svid('a'), { audience: 'orders', scope: undefined })).toEqual({
      grant_type: 'client_credentials',
      client_id: WEB,
      audience: 'orders',
    });
  });
});

describe('discovery', () => {
  it('prefers the mTLS alias of the token endpoint from RFC 8414 metadata', async () => {
    expect((await discover(issuer, rootsOnly)).tokenEndpoint).toBe(`${issuer}/token`);
  });

  it('falls back to OpenID discovery', async () => {
    rfc8414 = false;
    try {
      expect((await discover(issuer, rootsOnly)).tokenEndpoint).toBe(`${issuer}/plain-token`);
    } finally {
      rfc8414 = true;
    }
  });

  it('refuses metadata naming another issuer', async () => {
    metadataIssuer = () => 'https://evil.example';
    try {
      await expect(discover(issuer, rootsOnly)).rejects.toThrow(/expected https:\/\/localhost/);
    } finally {
      metadataIssuer = (i) => i;
    }
  });
});

describe('token client', () => {
  it('shares one token request among concurrent callers', async () => {
    const c = client();
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => c.get(svid('a'))));
    expect(new Set(tokens)).toEqual(new Set(['tok-1']));
    expect(requests).toHaveLength(1);
    expect(requests[0]!.get('resource')).toBe('https://orders.example.org');
    expect(await c.get(svid('a'))).toBe('tok-1');
    expect(requests).toHaveLength(1);
  });

  it('obtains a new token when the certificate rotates', async () => {
    const c = client();
    c.onIdentity(svid('a'));
    const first = await c.get(svid('a'));
    c.onIdentity(svid('b'));
    const second = await c.get(svid('b'));
    expect(second).not.toBe(first);
    expect(requests).toHaveLength(2);
    c.stop();
  });

  it('refreshes after 80% of the lifetime while still serving the old token', async () => {
    let now = Date.now();
    const c = client(() => now);
    expect(await c.get(svid('a'))).toBe('tok-1');
    now += 79_000;
    expect(await c.get(svid('a'))).toBe('tok-1');
    expect(requests).toHaveLength(1);
    now += 2_000;
    expect(await c.get(svid('a'))).toBe('tok-1');
    await new Promise((r) => setTimeout(r, 100));
    expect(await c.get(svid('a'))).toBe('tok-2');
  });

  it('forgets a token the upstream called invalid', async () => {
    const c = client();
    const first = await c.get(svid('a'));
    c.invalidate(svid('a'), first);
    expect(await c.get(svid('a'))).toBe('tok-2');
  });
});
