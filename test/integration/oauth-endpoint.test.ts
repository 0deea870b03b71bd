// The authorization server of the real `tether ca serve --token-listen` process over real mTLS:
// every token-endpoint error, the token checked by independent tools (Debian's python3-jwt and
// openssl), metadata, JWKS, introspection, key rotation from the CLI and per-source blocking.
// Needs /usr/bin/python3 with python3-jwt and openssl; without them the suite fails, not skips.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CaProcess,
  initCa,
  removeDir,
  startCa,
  tempDir,
  tetherOk,
  writeConfig,
} from '../helpers/ca-process.js';
import { foreignLeaf, leafFromCa, type PemIdentity } from '../helpers/fixtures.js';
import { enrollWithToken, type Workload } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const BATCH = 'spiffe://example.org/ns/batch/job1';
const STRANGER = 'spiffe://example.org/ns/other/sa/stranger';
const CA_ID = 'spiffe://example.org/tether/ca';
const API = 'https://orders.example.org/api';
const FAILURES_MAX = 15;

const CONFIG = `
limits:
  failures: { max: ${FAILURES_MAX}, window: 10m, block: 5m }
oauth:
  policies:
    - clients: [${WEB}]
      audience: orders
      scopes: [read:orders, write:orders]
    - clients: [spiffe://example.org/ns/batch/*]
      audience: ${API}
      scopes: [read:orders]
`;

let ca: CaProcess;
let dataDir: string;
let configFile: string;
let work: string;
let web: Workload;
let batch: Workload;
let stranger: Workload;

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

interface RequestOptions {
  method?: string;
  body?: string;
  contentType?: string;
  client?: PemIdentity | null;
}

/** One HTTPS request; the server must prove it is the CA (chain to the bundle + its SPIFFE ID). */
function request(urlPath: string, o: RequestOptions = {}): Promise<Response> {
  const client = o.client === undefined ? web : o.client;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: ca.tokenPort!,
        path: urlPath,
        method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
        ca: ca.bundlePem,
        ...(client ? { key: client.keyPem, cert: client.chainPem } : {}),
        agent: false,
        checkServerIdentity: (_host, cert) =>
          cert.subjectaltname?.split(', ').includes(`URI:${CA_ID}`)
            ? undefined
            : new Error(`server is not ${CA_ID}: ${cert.subjectaltname}`),
        headers:
          o.body === undefined
            ? {}
            : { 'content-type': o.contentType ?? 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const form = (params: Record<string, string>) => new URLSearchParams(params).toString();
const token = (params: Record<string, string>, o: Omit<RequestOptions, 'body'> = {}) =>
  request('/token', { ...o, body: form({ grant_type: 'client_credentials', ...params }) });

async function enroll(spiffeId: string): Promise<Workload> {
  const joinToken = await tetherOk(['ca', 'token', 'create', '--data-dir', dataDir, '--spiffe-id', spiffeId]);
  return enrollWithToken(ca.address, ca.bundlePem, joinToken);
}

function expectOAuthError(r: Response, status: number, error: string): void {
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  expect(r.body['error']).toBe(error);
  expect(r.headers['cache-control']).toBe('no-store');
  expect(r.headers['content-type']).toMatch(/^application\/json/);
}

beforeAll(async () => {
  dataDir = await initCa();
  work = tempDir('tether-oauth-');
  configFile = writeConfig(work, CONFIG);
  ca = await startCa({ dataDir, config: configFile, args: ['--token-listen', '127.0.0.1:0'] });
  [web, batch, stranger] = [await enroll(WEB), await enroll(BATCH), await enroll(STRANGER)];
});

afterAll(async () => {
  await ca?.stop();
  if (dataDir) removeDir(path.dirname(dataDir));
  if (work) removeDir(work);
});

describe('startup', () => {
  it('logs the token port and the default issuer on the "CA serving" line', () => {
    const line = ca.logs().find((l) => l['msg'] === 'CA serving')!;
    expect(line['tokenPort']).toBe(ca.tokenPort);
    expect(line['issuer']).toBe(`https://127.0.0.1:${ca.tokenPort}`);
  });
});

describe('POST /token', () => {
  it('issues an RFC 9068 token bound to the client certificate', async () => {
    const r = await token({ audience: 'orders', scope: 'read:orders' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'read:orders' });
    const header = decodeProtectedHeader(r.body['access_token'] as string);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const claims = decodeJwt(r.body['access_token'] as string);
    expect(claims).toMatchObject({
      iss: `https://127.0.0.1:${ca.tokenPort}`,
      sub: WEB,
      client_id: WEB,
      aud: 'orders',
      scope: 'read:orders',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives no scope claim when none is requested (not every allowed scope)', async () => {
    const r = await token({ audience: 'orders' });
    expect(r.status).toBe(200);
    expect(r.body['scope']).toBeUndefined();
    expect(decodeJwt(r.body['access_token'] as string)['scope']).toBeUndefined();
  });

  it('accepts a matching client_id and an absolute-URI resource for a prefix-matched client', async () => {
    const r = await token({ resource: API, scope: 'read:orders', client_id: BATCH }, { client: batch });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(decodeJwt(r.body['access_token'] as string)).toMatchObject({ sub: BATCH, aud: API });
  });

  it('uses the only audience a client may have when none is named', async () => {
    const r = await token({}, { client: batch });
    expect(r.status).toBe(200);
    expect(decodeJwt(r.body['access_token'] as string)['aud']).toBe(API);
  });

  it('logs the issuance without the token', async () => {
    const r = await token({ audience: 'orders', scope: 'write:orders' });
    const jwt = r.body['access_token'] as string;
    const jti = decodeJwt(jwt).jti;
    const line = await ca.waitForLog((l) => l['msg'] === 'access token issued' && l['jti'] === jti);
    expect(line).toMatchObject({ sub: WEB, aud: 'orders', scope: 'write:orders' });
    expect(ca.output()).not.toContain(jwt.split('.')[2]);
  });
});

describe('POST /token errors', () => {
  it('unsupported_grant_type for another grant', async () => {
    expectOAuthError(
      await token({ grant_type: 'password', audience: 'orders' }),
      400,
      'unsupported_grant_type',
    );
  });

  it('invalid_request for a missing grant_type, a repeated parameter or a JSON body', async () => {
    expectOAuthError(await request('/token', { body: form({ audience: 'orders' }) }), 400, 'invalid_request');
    const repeated = 'grant_type=client_credentials&audience=orders&audience=orders';
    expectOAuthError(await request('/token', { body: repeated }), 400, 'invalid_request');
    const json = JSON.stringify({ grant_type: 'client_credentials' });
    expectOAuthError(
      await request('/token', { body: json, contentType: 'application/json' }),
      400,
      'invalid_request',
    );
  });

  it('invalid_scope for a scope the policy does not grant', async () => {
    expectOAuthError(await token({ audience: 'orders', scope: 'read:orders admin' }), 400, 'invalid_scope');
    expectOAuthError(await token({ scope: 'write:orders' }, { client: batch }), 400, 'invalid_scope');
  });

  it('invalid_target for a relative resource, an audience not allowed, and a client with no policy', async () => {
    expectOAuthError(await token({ resource: 'orders' }), 400, 'invalid_target');
    expectOAuthError(await token({ resource: `${API}#frag` }, { client: batch }), 400, 'invalid_target');
    expectOAuthError(await token({ audience: 'payments' }), 400, 'invalid_target');
    expectOAuthError(await token({ audience: 'orders' }, { client: stranger }), 400, 'invalid_target');
  });

  it('invalid_client (401) without a client certificate', async () => {
    expectOAuthError(await token({ audience: 'orders' }, { client: null }), 401, 'invalid_client');
  });

  it('invalid_client for a certificate from a foreign CA and for an expired one', async () => {
    expectOAuthError(
      await token({ audience: 'orders' }, { client: foreignLeaf(WEB) }),
      401,
      'invalid_client',
    );
    const now = Date.now();
    const expired = await leafFromCa(dataDir, WEB, new Date(now - 7200_000), new Date(now - 3600_000));
    expectOAuthError(await token({ audience: 'orders' }, { client: expired }), 401, 'invalid_client');
  });

  it('invalid_client when client_id is not the certificate SPIFFE ID', async () => {
    expectOAuthError(await token({ audience: 'orders', client_id: BATCH }), 401, 'invalid_client');
  });

  it('logs each refusal with error, reason and peer', () => {
    const refusals = ca.logs().filter((l) => l['msg'] === 'token request refused');
    expect(refusals.map((l) => l['error'])).toEqual(
      expect.arrayContaining(['invalid_client', 'invalid_scope', 'invalid_target', 'invalid_request']),
    );
    for (const l of refusals) {
      expect(l['reason']).toBeTypeOf('string');
      expect(l['peer']).toMatch(/^127\.0\.0\.1:\d+$/);
    }
  });
});

describe('the token, checked independently', () => {
  let jwt: string;
  let jwks: { keys: Record<string, unknown>[] };

  beforeAll(async () => {
    jwt = (await token({ audience: 'orders', scope: 'read:orders write:orders' })).body[
      'access_token'
    ] as string;
    jwks = (await request('/jwks')).body as typeof jwks;
  });

  it('verifies with python3-jwt against the published JWK', () => {
    const kid = decodeProtectedHeader(jwt).kid;
    const jwkFile = path.join(work, 'jwk.json');
    writeFileSync(jwkFile, JSON.stringify(jwks.keys.find((k) => k['kid'] === kid)));
    const script = `
import json, sys, jwt
key = jwt.PyJWK(json.load(open(sys.argv[1])))
header = jwt.get_unverified_header(sys.argv[2])
claims = jwt.decode(sys.argv[2], key.key, algorithms=["ES256"], audience="orders", issuer=sys.argv[3],
                    options={"require": ["exp", "iat", "nbf", "jti", "sub", "aud", "iss"]})
print(json.dumps({"header": header, "claims": claims}))
`;
    const out = execFileSync('/usr/bin/python3', [
      '-c',
      script,
      jwkFile,
      jwt,
      `https://127.0.0.1:${ca.tokenPort}`,
    ]);
    const { header, claims } = JSON.parse(out.toString()) as Record<string, Record<string, unknown>>;
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid });
    expect(claims).toMatchObject({ sub: WEB, client_id: WEB, scope: 'read:orders write:orders' });
  });

  it('python3-jwt rejects the token when one payload byte changes', () => {
    const [h, p, s] = jwt.split('.');
    const tampered = `${h}.${p!.slice(0, -2)}${p!.endsWith('A') ? 'B' : 'A'}${p!.slice(-1)}.${s}`;
    const jwkFile = path.join(work, 'jwk.json');
    const script = `
import json, sys, jwt
key = jwt.PyJWK(json.load(open(sys.argv[1])))
jwt.decode(sys.argv[2], key.key, algorithms=["ES256"], audience="orders")
`;
    expect(() =>
      execFileSync('/usr/bin/python3', ['-c', script, jwkFile, tampered], { stdio: 'pipe' }),
    ).toThrow();
  });

  it('cnf.x5t#S256 equals the thumbprint openssl computes from the client certificate', () => {
    const pem = new X509Certificate(web.leaf.raw).toString();
    const thumbprint = execFileSync(
      'bash',
      ['-c', "openssl x509 -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='"],
      { input: pem },
    )
      .toString()
      .trim();
    expect(thumbprint).toHaveLength(43);
    expect(decodeJwt(jwt)['cnf']).toEqual({ 'x5t#S256': thumbprint });
  });
});

describe('metadata and JWKS', () => {
  it('serves RFC 8414 metadata whose URLs sit under the issuer', async () => {
    const issuer = `https://127.0.0.1:${ca.tokenPort}`;
    const r = await request('/.well-known/oauth-authorization-server');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      issuer,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      introspection_endpoint: `${issuer}/introspect`,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['tls_client_auth'],
      introspection_endpoint_auth_methods_supported: ['tls_client_auth'],
      tls_client_certificate_bound_access_tokens: true,
      mtls_endpoint_aliases: {
        token_endpoint: `${issuer}/token`,
        introspection_endpoint: `${issuer}/introspect`,
      },
      scopes_supported: ['read:orders', 'write:orders'],
    });
  });

  it('publishes public ES256 signing keys only, the active and the next one', async () => {
    const r = await request('/jwks', { client: null });
    expect(r.status).toBe(200);
    const keys = r.body['keys'] as Record<string, unknown>[];
    expect(keys).toHaveLength(2);
    for (const k of keys) {
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256' });
      expect(k['d']).toBeUndefined();
    }
  });
});

describe('POST /introspect', () => {
  const introspect = (t: string, o: Omit<RequestOptions, 'body'> = {}) =>
    request('/introspect', { ...o, body: form({ token: t }) });

  it('answers active with the claims and cnf for a current token', async () => {
    const jwt = (await token({ audience: 'orders', scope: 'read:orders' })).body['access_token'] as string;
    const r = await introspect(jwt, { client: batch });
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    const claims = decodeJwt(jwt);
    expect(r.body).toEqual({
      active: true,
      token_type: 'Bearer',
      scope: 'read:orders',
      client_id: WEB,
      sub: WEB,
      aud: 'orders',
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      jti: claims.jti,
      cnf: claims['cnf'],
    });
  });

  it('answers exactly {"active": false} for malformed, tampered and foreign tokens', async () => {
    const jwt = (await token({ audience: 'orders' })).body['access_token'] as string;
    const [h, p, s] = jwt.split('.');
    const { SignJWT, generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT(decodeJwt(jwt))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: decodeProtectedHeader(jwt).kid! })
      .sign(privateKey);
    for (const t of ['not-a-jwt', `${h}.${p}x.${s}`, `${h}.${p}.${s!.slice(0, -4)}AAAA`, foreign]) {
      const r = await introspect(t);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ active: false });
    }
  });

  it('requires an authenticated mesh caller (401 invalid_client)', async () => {
    const jwt = (await token({ audience: 'orders' })).body['access_token'] as string;
    expectOAuthError(await introspect(jwt, { client: null }), 401, 'invalid_client');
    expectOAuthError(await introspect(jwt, { client: foreignLeaf(BATCH) }), 401, 'invalid_client');
  });
});

describe('tether ca rotate --token-key', () => {
  it('signs new tokens with the key published before, and keeps the old key published', async () => {
    const before = (await token({ audience: 'orders' })).body['access_token'] as string;
    const oldKid = decodeProtectedHeader(before).kid!;
    const kidsBefore = ((await request('/jwks')).body['keys'] as { kid: string }[]).map((k) => k.kid);
    const nextKid = kidsBefore.find((k) => k !== oldKid)!;
    await tetherOk(['ca', 'rotate', '--token-key', '--data-dir', dataDir, '--config', configFile]);
    let kid = oldKid;
    for (let i = 0; i < 50 && kid === oldKid; i++) {
      await new Promise((r) => setTimeout(r, 200)); // the server polls the store once a second
      kid = decodeProtectedHeader((await token({ audience: 'orders' })).body['access_token'] as string).kid!;
    }
    expect(kid).toBe(nextKid);
    const kidsAfter = ((await request('/jwks')).body['keys'] as { kid: string }[]).map((k) => k.kid);
    expect(kidsAfter).toEqual(expect.arrayContaining([oldKid, nextKid]));
    expect(kidsAfter).toHaveLength(3);
    const r = await request('/introspect', { body: form({ token: before }) });
    expect(r.body['active']).toBe(true);
  });
});

describe('curl (the README example)', () => {
  it('gets a token with --cert/--key and verifies the CA with --cacert alone (no -k)', () => {
    const files = {
      cert: path.join(work, 'web.pem'),
      key: path.join(work, 'web.key'),
      ca: path.join(work, 'bundle.pem'),
    };
    writeFileSync(files.cert, web.chainPem);
    writeFileSync(files.key, web.keyPem, { mode: 0o600 });
    writeFileSync(files.ca, ca.bundlePem);
    const out = execFileSync('curl', [
      '--silent',
      '--show-error',
      '--cert',
      files.cert,
      '--key',
      files.key,
      '--cacert',
      files.ca,
      '-d',
      'grant_type=client_credentials',
      '-d',
      'audience=orders',
      '-d',
      'scope=read:orders',
      `https://127.0.0.1:${ca.tokenPort}/token`,
    ]);
    expect(JSON.parse(out.toString())).toMatchObject({ token_type: 'Bearer', scope: 'read:orders' });
  });
});

describe('per-source blocking (shared with gRPC attestation)', () => {
  it('answers 429 with Retry-After once the source failed client authentication too often', async () => {
    let r: Response | null = null;
    for (let i = 0; i <= FAILURES_MAX; i++) {
      r = await token({ audience: 'orders' }, { client: null });
      if (r.status === 429) break;
      expect(r.status).toBe(401);
    }
    expectOAuthError(r!, 429, 'temporarily_unavailable');
    expect(Number(r!.headers['retry-after'])).toBeGreaterThan(0);
    // The block is per source: even a valid client from this address is refused now.
    expectOAuthError(await token({ audience: 'orders' }), 429, 'temporarily_unavailable');
  });
});
