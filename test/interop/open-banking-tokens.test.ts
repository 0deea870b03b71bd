// Interop: FAPI-style tokens between a TPP and a bank, both sidecars using openssl-made QWACs.
// node-oidc-provider authenticates the TPP sidecar by certificate subject DN
// (tls_client_auth_subject_dn) on its mtls_endpoint_aliases token endpoint and issues PS256 tokens
// bound with x5t#S256; the bank's inbound sidecar verifies them and refuses a replay by another TPP.
import { createHash, X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoApp } from '../helpers/mesh.js';
import { makeOpenBankingPki, mtlsRequest, type OpenBankingPki, TPP_AI_ORG } from '../helpers/open-banking.js';
import { type OpenBankingAs, startOpenBankingAs } from '../helpers/open-banking-as.js';
import { type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const RESOURCE = 'https://bank.example/open-banking';
const SCOPE = 'accounts';

let pki: OpenBankingPki;
let as: OpenBankingAs;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let bank: SidecarProcess;
let tpp: SidecarProcess;
let bankPort: number;

beforeAll(async () => {
  pki = makeOpenBankingPki();
  app = await startEchoApp();
  const serving = pki.qtsp.issue({ name: 'as', commonName: 'localhost', dnsNames: ['localhost'] });
  as = await startOpenBankingAs({
    serving,
    roots: pki.qtsp.rootPem,
    clients: { 'tpp-ai': pki.tppAi.subject, 'tpp-pi': pki.tppPi.subject },
    resource: RESOURCE,
    scope: SCOPE,
  });
  const roots = pki.qtsp.rootFile;
  bank = await startSidecar(
    [
      `identity: { certFile: ${pki.bank.certFile}, keyFile: ${pki.bank.keyFile} }`,
      `trust: { bundleFile: ${roots} }`,
      'admin: 127.0.0.1:0',
      'inbound:',
      '  - name: accounts',
      '    listen: 127.0.0.1:0',
      `    forward: 127.0.0.1:${app.port}`,
      '    tls: { profile: fapi }',
      '    allow: { psd2Roles: [PSP_AI, PSP_PI] }',
      `    token: { issuer: "${as.issuer}", audience: "${RESOURCE}", scopes: [${SCOPE}], caFile: ${roots} }`,
      '',
    ].join('\n'),
  );
  bankPort = bank.ports['inbound.accounts']!;
  const outbound = (name: string, q: { certFile: string; keyFile: string }, clientId: string) =>
    [
      `  - name: ${name}`,
      '    listen: 127.0.0.1:0',
      `    upstream: 127.0.0.1:${bankPort}`,
      '    serverName: bank.example',
      `    identity: { certFile: ${q.certFile}, keyFile: ${q.keyFile} }`,
      '    tls: { profile: fapi }',
      `    token: { issuer: "${as.issuer}", audience: "${RESOURCE}", scope: ${SCOPE}, caFile: ${roots}, clientId: ${clientId} }`,
    ].join('\n');
  tpp = await startSidecar(
    [
      `trust: { bundleFile: ${roots} }`,
      'admin: 127.0.0.1:0',
      'outbound:',
      outbound('ai', pki.tppAi, 'tpp-ai'),
      // The PI TPP's certificate claiming the AI TPP's client_id: the AS must refuse it.
      outbound('impostor', pki.tppPi, 'tpp-ai'),
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await tpp?.stop();
  await bank?.stop();
  await as?.close();
  await app?.close();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

let token = '';

describe('open banking tokens with oidc-provider (tls_client_auth_subject_dn, PS256)', () => {
  it('the TPP sidecar gets a PS256 token bound to its QWAC and the bank sidecar accepts it', async () => {
    const res = await fetch(`http://127.0.0.1:${tpp.ports['outbound.ai']}/accounts`);
    expect(res.status).toBe(200);
    const seen = app.seen.at(-1)!;
    expect(seen['x-tether-org-id']).toBe(TPP_AI_ORG);
    token = String(seen.authorization).replace(/^Bearer /, '');
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'PS256', typ: 'at+jwt' });
    const claims = decodeJwt(token) as { client_id?: string; aud?: unknown; cnf?: Record<string, string> };
    expect(claims.client_id).toBe('tpp-ai');
    expect(claims.aud).toBe(RESOURCE);
    const thumbprint = createHash('sha256')
      .update(new X509Certificate(pki.tppAi.certPem).raw)
      .digest('base64url');
    expect(claims.cnf?.['x5t#S256']).toBe(thumbprint);
    expect(as.issued()).toBeGreaterThanOrEqual(1);
  });

  it('accepts the token again on a fresh connection with the certificate it is bound to', async () => {
    const res = await mtlsRequest(bankPort, {
      client: pki.tppAi,
      ca: pki.qtsp.rootPem,
      path: '/accounts',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
  });

  it('refuses the token replayed with another TPP’s certificate (401 cnf_mismatch)', async () => {
    const res = await mtlsRequest(bankPort, {
      client: pki.tppPi,
      ca: pki.qtsp.rootPem,
      path: '/accounts',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers['x-tether-reason']).toBe('token_cnf_mismatch');
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer error="invalid_token"/);
  });

  it('gets no token for a certificate whose subject DN is not the client’s registered one', async () => {
    const before = as.issued();
    const res = await fetch(`http://127.0.0.1:${tpp.ports['outbound.impostor']}/accounts`);
    expect(res.status).toBe(503);
    expect(res.headers.get('x-tether-reason')).toBe('token_unavailable');
    expect(as.issued()).toBe(before);
    const failed = await tpp.waitForLog(
      (l) => l['msg'] === 'access token request failed' && l['listener'] === 'impostor',
    );
    expect(String(failed?.['err'])).toContain('invalid_client');
  });
});
