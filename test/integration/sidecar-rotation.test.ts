// Certificates and bundles change under live traffic: many leaf rotations, a CA outage, and a
// full root rotation, all without restarting a sidecar or failing a request.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCa, tetherOk } from '../helpers/ca-process.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { startTraffic } from '../helpers/traffic.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Pair {
  mesh: Mesh;
  web: SidecarProcess;
  orders: SidecarProcess;
  httpOut: number;
  tcpOut: number;
}

/** web (outbound http+tcp) → orders (inbound http+tcp) → echo apps, all short-lived certificates. */
async function startPair(caYaml: string, ttl: string, caPort?: number): Promise<Pair> {
  const mesh = await startMesh(caYaml);
  cleanups.push(() => mesh.stop());
  if (caPort) {
    await mesh.ca.stop();
    Object.assign(mesh, {
      ca: await startCa({
        dataDir: mesh.dataDir,
        args: ['--listen', `127.0.0.1:${caPort}`],
        config: `${mesh.dir}/ca.yaml`,
      }),
    });
  }
  const app = await startEchoApp();
  cleanups.push(() => app.close());
  const echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  cleanups.push(async () => echo.close());
  const echoPort = (echo.address() as net.AddressInfo).port;
  const [httpIn, tcpIn, httpOut, tcpOut] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      ttl,
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${httpIn}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
        `{ name: echo, listen: 127.0.0.1:${tcpIn}, forward: 127.0.0.1:${echoPort}, protocol: tcp, allow: [${WEB}] }`,
      ],
    }),
  );
  cleanups.push(() => orders.stop());
  const web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      ttl,
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${httpOut}, upstream: 127.0.0.1:${httpIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: echo, listen: 127.0.0.1:${tcpOut}, upstream: 127.0.0.1:${tcpIn}, protocol: tcp, serverId: ${ORDERS} }`,
      ],
    }),
  );
  cleanups.push(() => web.stop());
  return { mesh, web, orders, httpOut, tcpOut };
}

/** Polls both sidecars' /certs and records every distinct serial until `until()` or the timeout. */
async function watchSerials(
  pair: Pair,
  until: (serials: { web: Set<string>; orders: Set<string> }) => boolean,
  timeoutMs: number,
  initial: { web?: string; orders?: string } = {},
) {
  const serials = {
    web: new Set<string>(initial.web ? [initial.web] : []),
    orders: new Set<string>(initial.orders ? [initial.orders] : []),
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !until(serials)) {
    serials.web.add((await pair.web.certs()).serial);
    serials.orders.add((await pair.orders.certs()).serial);
    await sleep(300);
  }
  return serials;
}

describe('rotation under load', () => {
  it('renews both sidecars at least 5 times each with zero failed requests', async () => {
    const pair = await startPair('ttl: { default: 10s, max: 15s }\n', '10s');
    const traffic = startTraffic({ httpPort: pair.httpOut, tcpPort: pair.tcpOut, workers: 2, maxMs: 60_000 });
    const serials = await watchSerials(pair, (s) => s.web.size >= 6 && s.orders.size >= 6, 55_000);
    const stats = await traffic.stop();
    console.log(
      `rotation under load: ${stats.ok} requests, ${stats.failed} failed, ${serials.web.size - 1}/${serials.orders.size - 1} rotations (web/orders)`,
    );
    expect(serials.web.size).toBeGreaterThanOrEqual(6);
    expect(serials.orders.size).toBeGreaterThanOrEqual(6);
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.ok).toBeGreaterThan(500);
  }, 90_000);
});

describe('CA outage', () => {
  it('keeps serving on the current certificate while the CA is down and renews once it is back', async () => {
    const caPort = await freePort();
    const pair = await startPair('ttl: { default: 30s, max: 30s }\n', '30s', caPort);
    const first = await pair.web.certs();
    const firstOrders = await pair.orders.certs();
    const stopping = Date.now();
    await pair.mesh.ca.stop();
    // Open bundle streams must not hold the CA up: 5 s grace, then in-flight streams are cut.
    expect(Date.now() - stopping).toBeLessThan(10_000);
    const traffic = startTraffic({ httpPort: pair.httpOut, tcpPort: pair.tcpOut, maxMs: 40_000 });
    // Past half-life (15 s ± 3 s), renewal attempts fail but the current certificate keeps working.
    const deadline = Date.now() + 20_000;
    while (
      Date.now() < deadline &&
      !pair.web.logs().some((l) => l['msg'] === 'renewal failed; keeping the current certificate')
    ) {
      await sleep(250);
    }
    expect(pair.web.logs().some((l) => l['msg'] === 'renewal failed; keeping the current certificate')).toBe(
      true,
    );
    expect((await pair.web.certs()).serial).toBe(first.serial);
    expect((await fetch(`http://127.0.0.1:${pair.web.adminPort}/readyz`)).status).toBe(200);
    expect(Date.parse(first.notAfter) - Date.now()).toBeGreaterThan(5000);
    const ca = await startCa({
      dataDir: pair.mesh.dataDir,
      args: ['--listen', `127.0.0.1:${caPort}`],
      config: `${pair.mesh.dir}/ca.yaml`,
    });
    cleanups.push(() => ca.stop());
    const renewed = await watchSerials(pair, (s) => s.web.size >= 2 && s.orders.size >= 2, 12_000, {
      web: first.serial,
      orders: firstOrders.serial,
    });
    const stats = await traffic.stop();
    expect(renewed.web.size).toBeGreaterThanOrEqual(2);
    expect(renewed.orders.size).toBeGreaterThanOrEqual(2);
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.ok).toBeGreaterThan(100);
  }, 90_000);
});

describe('root rotation on a running mesh', () => {
  it('moves every sidecar to the new root without a restart or a failed request', async () => {
    const pair = await startPair(
      'ttl: { default: 10s, max: 10s }\nrotation: { rootPropagation: 3s, checkInterval: 200ms }\n',
      '10s',
    );
    const traffic = startTraffic({ httpPort: pair.httpOut, tcpPort: pair.tcpOut, maxMs: 60_000 });
    const status = JSON.parse(await tetherOk(['ca', 'status', '--json', '--data-dir', pair.mesh.dataDir]));
    const before = { bundleSequence: status.bundleSequence as number };
    let last = await pair.web.certs();
    const seen: number[] = [last.bundleRoots];
    await tetherOk(['ca', 'rotate', '--root', '--data-dir', pair.mesh.dataDir]);
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      last = await pair.web.certs();
      if (seen.at(-1) !== last.bundleRoots) seen.push(last.bundleRoots);
      if (last.bundleSequence >= before.bundleSequence + 2) break;
      await sleep(300);
    }
    const stats = await traffic.stop();
    expect(seen).toEqual([1, 2, 1]);
    expect(last.bundleSequence).toBe(before.bundleSequence + 2);
    expect((await pair.orders.certs()).bundleRoots).toBe(1);
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    // With only the new root trusted, new handshakes still work: both sides hold new-root certificates.
    expect((await fetch(`http://127.0.0.1:${pair.httpOut}/after`)).status).toBe(200);
  }, 90_000);
});
