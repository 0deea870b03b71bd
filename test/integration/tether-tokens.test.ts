// The whole RFC 8705 flow with Tether's own pieces: the CA's token endpoint issues a token bound
// to web's certificate, web's outbound sidecar attaches it, orders' inbound sidecar checks it —
// once by JWT signature (jwt mode) and once by asking the CA (introspection mode).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const OTHER = 'spiffe://example.org/ns/shop/sa/reports';

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;
let p: {
  jwtIn: number;
  introIn: number;
  jwtOut: number;
  introOut: number;
  adminOut: number;
  scopeIn: number;
};

beforeAll(async () => {
  mesh = await startMesh(
    [
      'oauth:',
      '  listen: 127.0.0.1:0',
      '  policies:',
      `    - { clients: [${WEB}], audience: orders, scopes: [read:orders] }`,
      `    - { clients: ["spiffe://example.org/ns/shop/*"], audience: reports, scopes: [read:reports] }`,
      '',
    ].join('\n'),
  );
  expect(mesh.ca.tokenPort).toBeGreaterThan(0);
  const issuer = `https://127.0.0.1:${mesh.ca.tokenPort}`;
  app = await startEchoApp();
  p = {
    jwtIn: await freePort(),
    introIn: await freePort(),
    jwtOut: await freePort(),
    introOut: await freePort(),
    adminOut: await freePort(),
    scopeIn: await freePort(),
  };
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: jwt, listen: 127.0.0.1:${p.jwtIn}, forward: 127.0.0.1:${app.port}, allow: [${WEB}], token: { issuer: "${issuer}", audience: orders, scopes: [read:orders], mode: jwt } }`,
        `{ name: intro, listen: 127.0.0.1:${p.introIn}, forward: 127.0.0.1:${app.port}, allow: [${WEB}], token: { issuer: "${issuer}", audience: orders, scopes: [read:orders], mode: introspection } }`,
        `{ name: admin, listen: 127.0.0.1:${p.scopeIn}, forward: 127.0.0.1:${app.port}, allow: [${WEB}], token: { issuer: "${issuer}", audience: orders, scopes: [write:orders] } }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: jwt, listen: 127.0.0.1:${p.jwtOut}, upstream: 127.0.0.1:${p.jwtIn}, serverId: ${ORDERS}, token: { issuer: "${issuer}", audience: orders, scope: read:orders } }`,
        `{ name: intro, listen: 127.0.0.1:${p.introOut}, upstream: 127.0.0.1:${p.introIn}, serverId: ${ORDERS}, token: { issuer: "${issuer}", audience: orders, scope: read:orders } }`,
        `{ name: admin, listen: 127.0.0.1:${p.adminOut}, upstream: 127.0.0.1:${p.scopeIn}, serverId: ${ORDERS}, token: { issuer: "${issuer}", audience: orders, scope: read:orders } }`,
      ],
    }),
  );
});

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  await app?.close();
  await mesh?.stop();
});

function bearerClaims(headers: Record<string, unknown>): Record<string, unknown> {
  const auth = String(headers['authorization'] ?? '');
  expect(auth).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  return JSON.parse(Buffer.from(auth.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe("Tether's token endpoint with Tether's sidecars", () => {
  it('binds the token to web’s certificate and orders accepts it after checking the signature', async () => {
    const res = await fetch(`http://127.0.0.1:${p.jwtOut}/orders`);
    expect(res.status).toBe(200);
    const claims = bearerClaims(app.seen.at(-1)! as Record<string, unknown>);
    const webCerts = (await web.certs()) as unknown as { sha256: string };
    expect(claims).toMatchObject({
      sub: WEB,
      client_id: WEB,
      aud: 'orders',
      scope: 'read:orders',
      iss: `https://127.0.0.1:${mesh.ca.tokenPort}`,
    });
    expect((claims['cnf'] as Record<string, string>)['x5t#S256']).toBe(
      Buffer.from(webCerts.sha256, 'hex').toString('base64url'),
    );
  });

  it('accepts the same kind of token when the inbound asks the CA by introspection', async () => {
    const res = await fetch(`http://127.0.0.1:${p.introOut}/orders`);
    expect(res.status).toBe(200);
  });

  it('refuses with 403 insufficient_scope when the listener needs a scope the policy never grants', async () => {
    const res = await fetch(`http://127.0.0.1:${p.adminOut}/orders`);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toMatch(
      /^Bearer .*error="insufficient_scope".*scope="write:orders"/,
    );
  });

  it('never logs a token', async () => {
    const tokens = app.seen.map((h) => String(h['authorization'] ?? '').slice(7)).filter(Boolean);
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) {
      expect(web.output()).not.toContain(t);
      expect(orders.output()).not.toContain(t);
      expect(mesh.ca.output()).not.toContain(t);
    }
  });

  it('does not give web a token for an audience its policy does not allow', async () => {
    const other = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(OTHER),
        outbound: [
          `{ name: o, listen: 127.0.0.1:${await freePort()}, upstream: 127.0.0.1:${p.jwtIn}, serverId: ${ORDERS}, token: { issuer: "https://127.0.0.1:${mesh.ca.tokenPort}", audience: orders, scope: read:orders } }`,
        ],
      }),
    );
    try {
      const port = Object.values(other.ports)[0]!;
      const res = await fetch(`http://127.0.0.1:${port}/orders`);
      expect(res.status).toBe(503);
      expect(res.headers.get('x-tether-reason')).toBe('token_unavailable');
    } finally {
      await other.stop();
    }
  });
});
