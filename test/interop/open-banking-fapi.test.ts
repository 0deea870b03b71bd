// The `fapi` TLS profile as openssl s_client sees it: TLS 1.3, or TLS 1.2 with exactly the four
// FAPI 1.0 Advanced suites; CBC, CHACHA20, ECDSA and non-forward-secret suites refused; RSA keys
// under 2048 bits refused. Also end to end with the mesh CA issuing RSA-2048 leaves.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAPI_TLS12_CIPHERS } from '../../sidecar/tls/contexts.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { makeOpenBankingPki, type OpenBankingPki } from '../helpers/open-banking.js';
import { type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

let pki: OpenBankingPki;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let bank: SidecarProcess;
let port: number;

/** One s_client handshake; returns openssl's exit status and output. */
function sClient(args: string[], certFile = pki.tppAi.certFile, keyFile = pki.tppAi.keyFile) {
  const r = spawnSync(
    'openssl',
    [
      's_client',
      '-connect',
      `127.0.0.1:${port}`,
      '-servername',
      'bank.example',
      '-CAfile',
      pki.qtsp.rootFile,
      '-cert',
      certFile,
      '-key',
      keyFile,
      '-brief',
      ...args,
    ],
    { input: '', encoding: 'utf8', timeout: 10_000 },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(async () => {
  pki = makeOpenBankingPki();
  app = await startEchoApp();
  bank = await startSidecar(
    [
      `identity: { certFile: ${pki.bank.certFile}, keyFile: ${pki.bank.keyFile} }`,
      `trust: { bundleFile: ${pki.qtsp.rootFile} }`,
      'admin: 127.0.0.1:0',
      'inbound:',
      '  - name: fapi',
      '    listen: 127.0.0.1:0',
      `    forward: 127.0.0.1:${app.port}`,
      '    tls: { profile: fapi }',
      '    allow: { psd2Roles: [PSP_AI] }',
      '',
    ].join('\n'),
  );
  port = bank.ports['inbound.fapi']!;
}, 60_000);

afterAll(async () => {
  await bank?.stop();
  await app?.close();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

describe('tls.profile fapi (openssl s_client)', () => {
  it('accepts TLS 1.2 with each of exactly the four FAPI suites', () => {
    const allowed = FAPI_TLS12_CIPHERS.split(':');
    expect(allowed.sort()).toEqual([
      'DHE-RSA-AES128-GCM-SHA256',
      'DHE-RSA-AES256-GCM-SHA384',
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES256-GCM-SHA384',
    ]);
    for (const cipher of allowed) {
      const r = sClient(['-tls1_2', '-cipher', cipher]);
      expect(r.out, cipher).toContain(`Ciphersuite: ${cipher}`);
      expect(r.out).toContain('Protocol version: TLSv1.2');
      expect(r.status, r.out).toBe(0);
    }
  });

  it('refuses TLS 1.2 suites outside the profile: CHACHA20, ECDSA, AES-CBC and RSA key transport', () => {
    for (const cipher of [
      'ECDHE-ECDSA-CHACHA20-POLY1305',
      'ECDHE-RSA-CHACHA20-POLY1305',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES128-SHA256',
      'ECDHE-RSA-AES256-SHA',
      'AES128-SHA',
      'AES256-GCM-SHA384',
    ]) {
      const r = sClient(['-tls1_2', '-cipher', cipher]);
      expect(r.status, `${cipher}: ${r.out}`).not.toBe(0);
      expect(r.out, cipher).not.toContain('Ciphersuite:');
    }
  });

  it('accepts TLS 1.3 and refuses TLS 1.1', () => {
    const tls13 = sClient(['-tls1_3']);
    expect(tls13.out).toContain('Protocol version: TLSv1.3');
    expect(tls13.status).toBe(0);
    const tls11 = sClient(['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    expect(tls11.status).not.toBe(0);
  });

  it('refuses a client certificate with a 1024-bit RSA key', async () => {
    const weak = pki.qtsp.issue({
      name: 'weak',
      commonName: 'weak.example',
      organizationId: 'PSDGB-FCA-333333',
      roles: ['PSP_AI'],
      key: 'rsa:1024',
    });
    sClient(['-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0'], weak.certFile, weak.keyFile);
    const deadline = Date.now() + 5_000;
    const refused = () =>
      bank
        .logs()
        .find((l) => l['msg'] === 'inbound connection refused' && l['reason'] === 'peer_key_too_small');
    while (!refused() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(refused()).toBeTruthy();
  });
});

describe('tls.profile fapi with the mesh CA', () => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await startMesh();
  }, 60_000);
  afterAll(async () => {
    await mesh?.stop();
  });

  it('serves an RSA-2048 leaf the CA issued for keyType rsa-2048, with an ECDHE-RSA suite', async () => {
    const sidecar = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile('spiffe://example.org/ns/bank/sa/api'),
        inbound: [
          `{ name: fapi, listen: 127.0.0.1:0, forward: 127.0.0.1:${app.port}, allow: [spiffe://example.org/*], tls: { profile: fapi } }`,
        ],
        extra: 'keyType: rsa-2048',
      }),
    );
    try {
      const dir = path.join(mesh.dir, 'client');
      mkdirSync(dir);
      const r = spawnSync(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${sidecar.ports['inbound.fapi']}`,
          '-tls1_2',
          '-cipher',
          'ECDHE-RSA-AES256-GCM-SHA384',
          '-showcerts',
        ],
        { input: '', encoding: 'utf8', timeout: 10_000 },
      );
      expect(r.stdout).toContain('Cipher is ECDHE-RSA-AES256-GCM-SHA384');
      expect(r.stdout).toContain('Server public key is 2048 bit');
      const leaf = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(r.stdout)![0];
      const text = execFileSync('openssl', ['x509', '-noout', '-text'], { input: leaf, encoding: 'utf8' });
      expect(text).toContain('rsaEncryption');
      expect(text).toContain('URI:spiffe://example.org/ns/bank/sa/api');
    } finally {
      await sidecar.stop();
    }
  }, 30_000);

  it('refuses to start a fapi listener whose certificate is ECDSA, naming the listener', async () => {
    const err = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile('spiffe://example.org/ns/bank/sa/ec'),
        inbound: [
          `{ name: fapi, listen: 127.0.0.1:0, forward: 127.0.0.1:${app.port}, allow: [spiffe://example.org/*], tls: { profile: fapi } }`,
        ],
      }),
    ).then(
      async (s) => {
        await s.stop();
        return '';
      },
      (e: Error) => e.message,
    );
    expect(err).toContain(
      'inbound.fapi: the fapi profile needs an RSA key of 2048 bits or more, the certificate has ec',
    );
  }, 30_000);
});
