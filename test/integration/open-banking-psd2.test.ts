// Open banking end to end with real processes and openssl-made eIDAS certificates: a bank's
// inbound sidecar (QWAC from files, QTSP trust, PSD2-role rules) and a TPP sidecar whose outbound
// listeners each present their own QWAC (PEM or PKCS#12) and verify the bank by DNS name or SPKI.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spkiSha256 } from '../../sidecar/outbound/verify-server.js';
import { startEchoApp } from '../helpers/mesh.js';
import {
  file,
  makeOpenBankingPki,
  mtlsRequest,
  type OpenBankingPki,
  TPP_AI_ORG,
  TPP_PI_ORG,
} from '../helpers/open-banking.js';
import { makeP12, opensslText, type Qwac } from '../helpers/qwac.js';
import { type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { startTraffic } from '../helpers/traffic.js';

let pki: OpenBankingPki;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let bank: SidecarProcess;
let tpp: SidecarProcess;
let bankPort: number;
/** The bank's identity directory, laid out as Kubernetes projects a Secret (..data symlink). */
let bankIdDir: string;

/** Publishes `q` in `dir` the way the kubelet does: new timestamped dir, ..data swapped by rename. */
function kubeProject(dir: string, q: Qwac, generation: number): void {
  const version = path.join(dir, `..${generation}`);
  mkdirSync(version);
  copyFileSync(q.certFile, path.join(version, 'tls.crt'));
  copyFileSync(q.keyFile, path.join(version, 'tls.key'));
  symlinkSync(`..${generation}`, path.join(dir, '..data_tmp'));
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
}

function get(port: number, urlPath: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath, headers, agent: false }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        })
        .on('error', reject);
    },
  );
}

beforeAll(async () => {
  pki = makeOpenBankingPki();
  app = await startEchoApp();
  bankIdDir = file(pki, 'bank-identity');
  mkdirSync(bankIdDir);
  kubeProject(bankIdDir, pki.bank, 1);
  symlinkSync('..data/tls.crt', path.join(bankIdDir, 'tls.crt'));
  symlinkSync('..data/tls.key', path.join(bankIdDir, 'tls.key'));
  writeFileSync(file(pki, 'p12.pass'), 'p12-secret\n');
  makeP12(pki.tppAi, pki.qtsp.rootFile, 'p12-secret', file(pki, 'tpp-ai.p12'));

  bank = await startSidecar(
    [
      'identity:',
      `  certFile: ${bankIdDir}/tls.crt`,
      `  keyFile: ${bankIdDir}/tls.key`,
      `trust: { bundleFile: ${pki.qtsp.rootFile} }`,
      'admin: 127.0.0.1:0',
      'shutdownGrace: 2s',
      'inbound:',
      '  - name: openbanking',
      '    listen: 127.0.0.1:0',
      `    forward: 127.0.0.1:${app.port}`,
      '    tls: { profile: fapi }',
      '    allow:',
      '      psd2Roles: [PSP_AI]',
      '      paths:',
      '        - { prefix: /payments, psd2Roles: [PSP_PI] }',
      '',
    ].join('\n'),
  );
  bankPort = bank.ports['inbound.openbanking']!;
  const trust = `trust: { bundleFile: ${pki.qtsp.rootFile} }`;
  const pin = `sha256:${spkiSha256(new X509Certificate(pki.bank.certPem).raw)}`;
  const wrongPin = `sha256:${spkiSha256(new X509Certificate(pki.tppAi.certPem).raw)}`;
  const outbound = (name: string, identity: string, verify: string, protocol = 'http') =>
    [
      `  - name: ${name}`,
      '    listen: 127.0.0.1:0',
      `    upstream: 127.0.0.1:${bankPort}`,
      `    protocol: ${protocol}`,
      `    ${verify}`,
      `    identity: ${identity}`,
      '    tls: { profile: fapi }',
    ].join('\n');
  tpp = await startSidecar(
    [
      trust,
      'admin: 127.0.0.1:0',
      'shutdownGrace: 2s',
      'outbound:',
      outbound(
        'ai',
        `{ certFile: ${pki.tppAi.certFile}, keyFile: ${pki.tppAi.keyFile} }`,
        'serverName: bank.example',
      ),
      outbound(
        'pi',
        `{ certFile: ${pki.tppPi.certFile}, keyFile: ${pki.tppPi.keyFile} }`,
        'serverName: bank.example',
      ),
      outbound(
        'p12',
        `{ p12File: ${file(pki, 'tpp-ai.p12')}, passwordFile: ${file(pki, 'p12.pass')} }`,
        `serverSpki: "${pin}"`,
      ),
      outbound(
        'wrongname',
        `{ certFile: ${pki.tppAi.certFile}, keyFile: ${pki.tppAi.keyFile} }`,
        'serverName: other-bank.example',
      ),
      outbound(
        'wrongpin',
        `{ certFile: ${pki.tppAi.certFile}, keyFile: ${pki.tppAi.keyFile} }`,
        `serverSpki: "${wrongPin}"`,
      ),
      outbound(
        'tcpname',
        `{ certFile: ${pki.tppAi.certFile}, keyFile: ${pki.tppAi.keyFile} }`,
        'serverName: bank.example',
        'tcp',
      ),
      outbound(
        'tcpwrongname',
        `{ certFile: ${pki.tppAi.certFile}, keyFile: ${pki.tppAi.keyFile} }`,
        'serverName: other-bank.example',
        'tcp',
      ),
      '',
    ].join('\n'),
  );
}, 60_000);

afterAll(async () => {
  await tpp?.stop();
  await bank?.stop();
  await app?.close();
  if (pki) rmSync(pki.dir, { recursive: true, force: true });
});

describe('open banking: eIDAS certificates and PSD2 roles', () => {
  it('makes QWACs whose organizationIdentifier and PSD2 QCStatement openssl itself prints', () => {
    const ai = opensslText(pki.tppAi.certFile);
    expect(ai).toContain(`organizationIdentifier = ${TPP_AI_ORG}`);
    expect(ai).toContain('qcStatements');
    expect(ai).toMatch(/PSP_AI[\s\S]*Financial Conduct Authority[\s\S]*GB-FCA/);
    const pi = opensslText(pki.tppPi.certFile);
    expect(pi).toContain(`organizationIdentifier = ${TPP_PI_ORG}`);
    expect(pi).toContain('PSP_PI');
    expect(pi).not.toContain('PSP_AI');
  });

  it('admits the PSP_AI TPP and hands the app its verified organization, roles and NCA', async () => {
    const res = await get(tpp.ports['outbound.ai']!, '/accounts/1');
    expect(res.status).toBe(200);
    const seen = app.seen.at(-1)!;
    expect(seen['x-tether-org-id']).toBe(TPP_AI_ORG);
    expect(seen['x-tether-psd2-roles']).toBe('PSP_AI');
    expect(seen['x-tether-nca']).toBe('GB-FCA');
  });

  it('refuses the PSP_PI-only TPP with 403 and says which role is missing', async () => {
    const res = await get(tpp.ports['outbound.pi']!, '/accounts/1');
    expect(res.status).toBe(403);
    expect(res.headers['x-tether-reason']).toBe('psd2_role_not_allowed');
    expect(res.body).toContain(`${TPP_PI_ORG} holds PSP_PI; this resource requires one of PSP_AI`);
    expect(
      app.seen.some((h) => h['x-tether-org-id'] === TPP_PI_ORG && !h['x-tether-psd2-roles']?.includes('AI')),
    ).toBe(false);
  });

  it('applies the /payments path rule: PSP_PI is admitted there, PSP_AI is not', async () => {
    expect((await get(tpp.ports['outbound.pi']!, '/payments/7')).status).toBe(200);
    expect(app.seen.at(-1)!['x-tether-org-id']).toBe(TPP_PI_ORG);
    const ai = await get(tpp.ports['outbound.ai']!, '/payments/7');
    expect(ai.status).toBe(403);
    expect(ai.headers['x-tether-reason']).toBe('psd2_role_not_allowed');
  });

  it('never lets client-sent x-tether-* headers reach the app, through the TPP sidecar or directly', async () => {
    const spoof = {
      'x-tether-org-id': 'PSDGB-FCA-EVIL',
      'x-tether-psd2-roles': 'PSP_AS,PSP_AI,PSP_PI,PSP_IC',
      'x-tether-nca': 'EVIL',
    };
    expect((await get(tpp.ports['outbound.ai']!, '/accounts/spoof', spoof)).status).toBe(200);
    const direct = await mtlsRequest(bankPort, {
      client: pki.tppAi,
      ca: pki.qtsp.rootPem,
      path: '/accounts/direct',
      headers: spoof,
    });
    expect(direct.status).toBe(200);
    const seen = app.seen.filter(
      (h) => String(h['x-tether-org-id']).includes('EVIL') || h['x-tether-nca'] === 'EVIL',
    );
    expect(seen).toEqual([]);
    expect(app.seen.at(-1)!['x-tether-psd2-roles']).toBe('PSP_AI');
    // The PI TPP's spoofed roles do not let it in either: the verdict uses the certificate only.
    expect((await get(tpp.ports['outbound.pi']!, '/accounts/spoof', spoof)).status).toBe(403);
  });

  it('loads a PKCS#12 identity made by openssl and verifies the bank by pinned SPKI', async () => {
    expect((await get(tpp.ports['outbound.p12']!, '/accounts/p12')).status).toBe(200);
    expect(app.seen.at(-1)!['x-tether-org-id']).toBe(TPP_AI_ORG);
  });

  it('refuses a bank certificate not valid for serverName, and one not matching the pin, with 502', async () => {
    const name = await get(tpp.ports['outbound.wrongname']!, '/accounts/x');
    expect(name.status).toBe(502);
    expect(name.body).toContain('not valid for other-bank.example');
    const pin = await get(tpp.ports['outbound.wrongpin']!, '/accounts/x');
    expect(pin.status).toBe(502);
    expect(pin.body).toContain('does not match the pinned serverSpki');
  });

  it('verifies the bank by serverName in TCP mode too: the right name passes, another name never connects', async () => {
    expect((await get(tpp.ports['outbound.tcpname']!, '/accounts/tcp')).status).toBe(200);
    expect(app.seen.at(-1)!['x-tether-org-id']).toBe(TPP_AI_ORG);
    const seen = app.seen.length;
    await expect(get(tpp.ports['outbound.tcpwrongname']!, '/accounts/tcp-wrong')).rejects.toThrow();
    expect(app.seen.length).toBe(seen);
  });

  it('refuses a client certificate from outside the QTSP trust at the handshake', async () => {
    const dir = file(pki, 'rogue');
    mkdirSync(dir);
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-days',
        '1',
        '-subj',
        `/CN=rogue/organizationIdentifier=${TPP_AI_ORG}`,
      ],
      { cwd: dir, stdio: 'pipe' },
    );
    const rogue: Qwac = {
      ...pki.tppAi,
      certPem: execFileSync('cat', [path.join(dir, 'c.pem')], { encoding: 'utf8' }),
      keyPem: execFileSync('cat', [path.join(dir, 'k.pem')], { encoding: 'utf8' }),
    };
    await expect(
      mtlsRequest(bankPort, { client: rogue, ca: pki.qtsp.rootPem, path: '/accounts' }),
    ).rejects.toThrow();
  });

  it('rotates the bank certificate (Kubernetes ..data swap and atomic rename) under load without dropping a request, and keeps the old one when the new file is broken', async () => {
    // New certificates are made first: openssl runs synchronously and would stall the load loops.
    const second = pki.qtsp.issue({
      name: 'bank-2',
      commonName: 'bank.example',
      organizationId: 'PSDGB-FCA-900000',
      roles: ['PSP_AS'],
      dnsNames: ['bank.example'],
    });
    const third = pki.qtsp.issue({
      name: 'bank-3',
      commonName: 'bank.example',
      organizationId: 'PSDGB-FCA-900000',
      roles: ['PSP_AS'],
      dnsNames: ['bank.example'],
    });
    const before = await mtlsRequest(bankPort, {
      client: pki.tppAi,
      ca: pki.qtsp.rootPem,
      path: '/accounts',
    });
    const traffic = startTraffic({
      httpPort: tpp.ports['outbound.ai']!,
      workers: 4,
      maxMs: 20_000,
      pauseMs: 2,
    });
    // Fresh handshakes straight to the bank during the swaps, too.
    const direct = { ok: 0, failed: 0 };
    let running = true;
    const handshakes = (async () => {
      while (running) {
        try {
          const r = await mtlsRequest(bankPort, {
            client: pki.tppAi,
            ca: pki.qtsp.rootPem,
            path: '/accounts',
          });
          if (r.status === 200) direct.ok++;
          else direct.failed++;
        } catch {
          direct.failed++;
        }
      }
    })();
    const waitForSerial = async (serial: string) => {
      const deadline = Date.now() + 8_000;
      for (;;) {
        const r = await mtlsRequest(bankPort, { client: pki.tppAi, ca: pki.qtsp.rootPem, path: '/accounts' });
        if (r.serverSerial === serial) return;
        if (Date.now() > deadline) throw new Error(`bank still serves ${r.serverSerial}, expected ${serial}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const serialOf = (q: Qwac) => new X509Certificate(q.certPem).serialNumber;

    kubeProject(bankIdDir, second, 2);
    await waitForSerial(serialOf(second));

    // A broken new version (key of another certificate): the old identity stays, the log says why.
    const broken = { ...second, keyFile: pki.tppPi.keyFile };
    kubeProject(bankIdDir, broken, 3);
    const deadline = Date.now() + 8_000;
    while (!bank.output().includes('new files cannot be used') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const warn = bank.logs().find((l) => l['msg'] === 'new files cannot be used; keeping the current ones');
    expect(warn?.['err']).toBe('no certificate matches the private key');
    expect(
      (await mtlsRequest(bankPort, { client: pki.tppAi, ca: pki.qtsp.rootPem, path: '/accounts' }))
        .serverSerial,
    ).toBe(serialOf(second));

    // Plain atomic rename of regular files replaces the symlinks: picked up as well.
    copyFileSync(third.keyFile, path.join(bankIdDir, 'tls.key.tmp'));
    copyFileSync(third.certFile, path.join(bankIdDir, 'tls.crt.tmp'));
    renameSync(path.join(bankIdDir, 'tls.key.tmp'), path.join(bankIdDir, 'tls.key'));
    renameSync(path.join(bankIdDir, 'tls.crt.tmp'), path.join(bankIdDir, 'tls.crt'));
    await waitForSerial(serialOf(third));

    running = false;
    await handshakes;
    const stats = await traffic.stop();
    expect(before.serverSerial).toBe(serialOf(pki.bank));
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.ok).toBeGreaterThan(20);
    expect(direct.failed).toBe(0);
    expect(direct.ok).toBeGreaterThan(5);
  }, 45_000);
});
