// Interop: the sidecars obtain and enforce certificate-bound access tokens from an independent
// RFC 8705 authorization server (node-oidc-provider), not from Tether's own.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { type OAuthAs, startOidcProviderAs } from '../helpers/oauth-as.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const RESOURCE = 'https://orders.example.org';

let mesh: Mesh;
let as: OAuthAs;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let web: SidecarProcess;
let orders: SidecarProcess;
let inboundPort = 0;
let outboundPort = 0;
let webFiles = '';

beforeAll(async () => {
  mesh = await startMesh();
  app = await startEchoApp();
  as = await startOidcProviderAs({ mesh, clients: [WEB], resource: RESOURCE, scope: 'read:orders' });
  [inboundPort, outboundPort] = [await freePort(), await freePort()];
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${inboundPort}, forward: 127.0.0.1:${app.port}, allow: [${WEB}], token: { issuer: "${as.issuer}", audience: "${RESOURCE}", scopes: [read:orders], mode: jwt, caFile: ${mesh.bundleFile} } }`,
      ],
    }),
  );
  webFiles = path.join(mesh.dir, 'web-files');
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${outboundPort}, upstream: 127.0.0.1:${inboundPort}, serverId: ${ORDERS}, token: { issuer: "${as.issuer}", audience: "${RESOURCE}", scope: read:orders, caFile: ${mesh.bundleFile} } }`,
      ],
      extra: `files: { dir: ${webFiles} }`,
    }),
  );
}, 60_000);

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  await as?.close();
  await app?.close();
  await mesh?.stop();
});

/** A request straight to the orders inbound, over mTLS with the given identity. */
function direct(id: { keyPem: string; chainPem: string }, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = https.request({
        host: '127.0.0.1',
        port: inboundPort,
        path: '/orders',
        headers,
        key: id.keyPem,
        cert: id.chainPem,
        ca: mesh.ca.bundlePem,
        checkServerIdentity: () => undefined,
        agent: false,
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
}

const webIdentity = () => ({
  keyPem: readFileSync(path.join(webFiles, 'key.pem'), 'utf8'),
  chainPem: readFileSync(path.join(webFiles, 'cert.pem'), 'utf8'),
});

let copied = '';

describe('tokens from oidc-provider (RFC 8705)', () => {
  it('web obtains a bound token, orders verifies it, and the app sees it', async () => {
    app.seen.length = 0;
    const res = await fetch(`http://127.0.0.1:${outboundPort}/orders`, {
      headers: { authorization: 'Bearer app-sent-this' },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { xfcc: string };
    const auth = String(app.seen.at(-1)?.authorization);
    expect(auth).toMatch(/^Bearer /);
    copied = auth.slice('Bearer '.length);
    expect(copied).not.toBe('app-sent-this');
    expect(decodeProtectedHeader(copied).typ).toBe('at+jwt');
    const claims = decodeJwt(copied) as {
      cnf?: Record<string, string>;
      iss?: string;
      aud?: unknown;
      scope?: string;
    };
    expect(claims.iss).toBe(as.issuer);
    expect(claims.aud).toBe(RESOURCE);
    expect(claims.scope).toBe('read:orders');
    const hash = /Hash=([0-9a-f]{64})/.exec(body.xfcc)?.[1];
    expect(claims.cnf?.['x5t#S256']).toBe(Buffer.from(hash!, 'hex').toString('base64url'));
  });

  it('refuses web’s own certificate without a token with a bare Bearer challenge', async () => {
    const res = await direct(webIdentity());
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('accepts the copied token over the connection whose certificate it is bound to', async () => {
    expect((await direct(webIdentity(), { authorization: `Bearer ${copied}` })).status).toBe(200);
  });

  it('refuses the copied token over a connection with another allowed certificate', async () => {
    const other = await enrollWithToken(
      mesh.ca.address,
      mesh.ca.bundlePem,
      readFileSync(await mesh.tokenFile(WEB), 'utf8'),
    );
    const res = await direct(other, { authorization: `Bearer ${copied}` });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token", error_description="/);
    expect(res.headers['x-tether-reason']).toBe('token_cnf_mismatch');
    expect(await orders.metrics()).toMatch(
      /tether_sidecar_token_rejected_total\{listener="orders",reason="cnf_mismatch"\} 1/,
    );
  });

  it('never logs the token', () => {
    expect(copied.length).toBeGreaterThan(20);
    expect(web.output()).not.toContain(copied);
    expect(orders.output()).not.toContain(copied);
  });
});
