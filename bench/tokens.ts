// Measures the token endpoint (tokens/s from one client process over pooled mTLS connections)
// and jwt-mode inbound validation (validations/s in process, ES256, cached JWKS).
// Bounded in time; loopback only. Run: npx tsx bench/tokens.ts [seconds]
import 'reflect-metadata';
import https from 'node:https';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { validateJwt } from '../sidecar/token/validator.js';
import { type Mesh, startMesh } from '../test/helpers/mesh.js';
import { enrollWithToken } from '../test/helpers/workload.js';

const seconds = Number(process.argv[2] ?? 5);
const WEB = 'spiffe://example.org/ns/shop/sa/web';

function post(agent: https.Agent, port: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/token',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(text) : reject(new Error(`${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function measureEndpoint(mesh: Mesh): Promise<{ tokens: number; perSecond: number; token: string }> {
  const web = await enrollWithToken(mesh.ca.address, mesh.ca.bundlePem, await readToken(mesh));
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    key: web.keyPem,
    cert: web.chainPem,
    ca: mesh.ca.bundlePem,
  });
  const body = 'grant_type=client_credentials&audience=orders&scope=read%3Aorders';
  const port = mesh.ca.tokenPort!;
  const token = (JSON.parse(await post(agent, port, body)) as { access_token: string }).access_token;
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < end) {
        await post(agent, port, body);
        n++;
      }
    }),
  );
  agent.destroy();
  return { tokens: n, perSecond: Math.round(n / ((performance.now() - t0) / 1000)), token };
}

async function readToken(mesh: Mesh): Promise<string> {
  const { readFileSync } = await import('node:fs');
  return readFileSync(await mesh.tokenFile(WEB), 'utf8');
}

async function measureValidation(
  mesh: Mesh,
  token: string,
): Promise<{ validations: number; perSecond: number }> {
  const jwks = await new Promise<JSONWebKeySet>((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: mesh.ca.tokenPort!, path: '/jwks', ca: mesh.ca.bundlePem }, (res) => {
        let t = '';
        res.on('data', (c) => (t += c));
        res.on('end', () => resolve(JSON.parse(t) as JSONWebKeySet));
      })
      .on('error', reject);
  });
  const keys = createLocalJWKSet(jwks);
  const options = {
    issuer: `https://127.0.0.1:${mesh.ca.tokenPort}`,
    audience: 'orders',
    keys,
    now: () => Date.now(),
  };
  let n = 0;
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  while (Date.now() < end) {
    for (let i = 0; i < 100; i++) {
      const r = await validateJwt(token, options);
      if (!r.ok) throw new Error('valid token rejected');
      n++;
    }
  }
  return { validations: n, perSecond: Math.round(n / ((performance.now() - t0) / 1000)) };
}

const mesh = await startMesh(
  `oauth:\n  listen: 127.0.0.1:0\n  policies:\n    - { clients: [${WEB}], audience: orders, scopes: [read:orders] }\n`,
);
try {
  const endpoint = await measureEndpoint(mesh);
  const validation = await measureValidation(mesh, endpoint.token);
  console.log(
    JSON.stringify({ endpoint: { tokens: endpoint.tokens, perSecond: endpoint.perSecond }, validation }),
  );
} finally {
  await mesh.stop();
}
