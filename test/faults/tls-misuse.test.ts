// TLS misuse against a real sidecar inbound listener with `openssl s_client`: old protocol
// versions, weak and NULL ciphers, renegotiation, no client certificate, an oversized chain, a
// CA:true client certificate and one without clientAuth — each refused and counted by reason,
// and a well-behaved client is still served afterwards.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badLeafFromCa } from '../helpers/bad-leaf.js';
import type { PemIdentity } from '../helpers/fixtures.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { identityFiles, sClient } from '../helpers/s-client.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const REQUEST = 'GET / HTTP/1.1\r\nHost: orders\r\nConnection: close\r\n\r\n';

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let modern = 0;
let legacy = 0;
let web: PemIdentity;
let caFile = '';

/** Sum of inbound handshake counters for `listener` whose result and reason match. */
async function counted(listener: string, result: string, reason: RegExp): Promise<number> {
  let sum = 0;
  for (const line of (await orders.metrics()).split('\n')) {
    const m =
      /^tether_sidecar_handshakes_total\{direction="inbound",listener="([^"]+)",result="([^"]+)",reason="([^"]*)"\} (\d+)/.exec(
        line,
      );
    if (m && m[1] === listener && m[2] === result && reason.test(m[3]!)) sum += Number(m[4]);
  }
  return sum;
}

/** Runs s_client with `args` and expects no HTTP response and one more count for `reason`. */
async function expectRefused(port: number, listener: string, args: string[], result: string, reason: RegExp) {
  const before = await counted(listener, result, reason);
  const r = await sClient(port, ['-CAfile', caFile, ...args], [{ delayMs: 300, data: REQUEST }]);
  expect(r.out).not.toContain('HTTP/1.1 200');
  await expect.poll(() => counted(listener, result, reason), { timeout: 5000 }).toBe(before + 1);
  return r;
}

beforeAll(async () => {
  mesh = await startMesh();
  caFile = mesh.bundleFile;
  app = await startEchoApp();
  modern = await freePort();
  legacy = await freePort();
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${modern}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
        `{ name: legacy, listen: 127.0.0.1:${legacy}, forward: 127.0.0.1:${app.port}, protocol: tcp, allow: [${WEB}], tls: { minVersion: "1.2" } }`,
      ],
    }),
  );
  web = await enrollWithToken(
    mesh.ca.address,
    mesh.ca.bundlePem,
    readFileSync(await mesh.tokenFile(WEB), 'utf8'),
  );
});

afterAll(async () => {
  await orders?.stop();
  await app?.close();
  await mesh?.stop();
});

describe('old protocol versions and weak ciphers are refused and counted', () => {
  it.each([
    ['TLS 1.0', '-tls1'],
    ['TLS 1.1', '-tls1_1'],
  ])('%s on the TLS 1.3 listener', async (_name, flag) => {
    await expectRefused(
      modern,
      'orders',
      [flag, '-cipher', 'DEFAULT:@SECLEVEL=0', ...identityFiles(web)],
      'failed',
      /version|protocol/,
    );
  });

  it('TLS 1.0 on the listener that allows 1.2', async () => {
    await expectRefused(
      legacy,
      'legacy',
      ['-tls1', '-cipher', 'DEFAULT:@SECLEVEL=0', ...identityFiles(web)],
      'failed',
      /version|protocol/,
    );
  });

  it.each([
    ['NULL', 'NULL-SHA256:ECDHE-ECDSA-NULL-SHA:@SECLEVEL=0'],
    ['anonymous key exchange', 'ADH-AES128-GCM-SHA256:AECDH-AES128-SHA:@SECLEVEL=0'],
    ['CBC without forward secrecy', 'AES128-SHA:AES256-SHA'],
  ])('%s ciphers over TLS 1.2', async (_name, ciphers) => {
    const r = await expectRefused(
      legacy,
      'legacy',
      ['-tls1_2', '-cipher', ciphers, ...identityFiles(web)],
      'failed',
      /cipher|handshake_failure|no_ciphers/,
    );
    expect(r.out).not.toMatch(/Cipher is (?!\(NONE\))/);
  });
});

describe('renegotiation is refused', () => {
  it('closes a TLS 1.2 connection whose client asks to renegotiate, and counts it', async () => {
    const before = await counted('legacy', 'refused', /^renegotiation$/);
    const r = await sClient(
      legacy,
      ['-CAfile', caFile, '-tls1_2', ...identityFiles(web)],
      [
        { delayMs: 800, data: 'R\n' },
        { delayMs: 1200, data: REQUEST },
      ],
    );
    expect(r.out).toContain('RENEGOTIATING');
    expect(r.out).not.toContain('HTTP/1.1 200');
    await expect
      .poll(() => counted('legacy', 'refused', /^renegotiation$/), { timeout: 5000 })
      .toBe(before + 1);
  });
});

describe('client certificates that are missing or misused are refused by reason', () => {
  it('no client certificate', async () => {
    await expectRefused(modern, 'orders', [], 'refused', /^no_client_certificate$/);
  });

  it('an oversized certificate chain (about 200 KiB)', async () => {
    const intermediate = web.chainPem.split(/(?=-----BEGIN CERTIFICATE-----)/)[1]!;
    const r = await expectRefused(
      modern,
      'orders',
      identityFiles(web, intermediate.repeat(300)),
      'failed',
      /excessive|too_long|length|size/,
    );
    expect(r.out.length).toBeGreaterThan(0);
  });

  it('a client certificate with CA:true', async () => {
    const bad = await badLeafFromCa(mesh.dataDir, WEB, 'ca-true');
    await expectRefused(modern, 'orders', identityFiles(bad), 'refused', /^peer_is_ca$/);
  });

  it('a client certificate without the clientAuth EKU', async () => {
    const bad = await badLeafFromCa(mesh.dataDir, WEB, 'no-client-auth');
    await expectRefused(modern, 'orders', identityFiles(bad), 'refused', /^invalid_purpose$/);
  });
});

describe('after all of the above', () => {
  it('the sidecar still serves a well-behaved client over TLS 1.3', async () => {
    const r = await sClient(
      modern,
      ['-CAfile', caFile, ...identityFiles(web)],
      [{ delayMs: 300, data: REQUEST }],
    );
    expect(r.out).toContain('HTTP/1.1 200');
    expect(r.out).toContain('TLSv1.3');
    expect(orders.child.exitCode).toBeNull();
  });
});
