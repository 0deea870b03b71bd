// The workload behind an inbound sidecar is slow or down: the sidecar answers 504 or 502 with a
// reason and one log line, never hangs the client past its request timeout, and keeps serving.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

let mesh: Mesh;
let slowApp: http.Server;
let orders: SidecarProcess;
let web: SidecarProcess;
const p = { slowIn: 0, downIn: 0, tcpDownIn: 0, slowOut: 0, downOut: 0, tcpDownOut: 0 };

beforeAll(async () => {
  mesh = await startMesh();
  // Answers /ok at once and never answers anything else.
  slowApp = http.createServer((req, res) => {
    if (req.url === '/ok') res.end('ok');
  });
  await new Promise<void>((r) => slowApp.listen(0, '127.0.0.1', () => r()));
  const appPort = (slowApp.address() as AddressInfo).port;
  const nobody = await freePort();
  for (const k of Object.keys(p) as (keyof typeof p)[]) p[k] = await freePort();
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: slow, listen: 127.0.0.1:${p.slowIn}, forward: 127.0.0.1:${appPort}, protocol: http, allow: [${WEB}], requestTimeout: 1s }`,
        `{ name: down, listen: 127.0.0.1:${p.downIn}, forward: 127.0.0.1:${nobody}, protocol: http, allow: [${WEB}] }`,
        `{ name: tcpdown, listen: 127.0.0.1:${p.tcpDownIn}, forward: 127.0.0.1:${nobody}, protocol: tcp, allow: [${WEB}] }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: slow, listen: 127.0.0.1:${p.slowOut}, upstream: 127.0.0.1:${p.slowIn}, protocol: http, serverId: ${ORDERS}, requestTimeout: 10s }`,
        `{ name: down, listen: 127.0.0.1:${p.downOut}, upstream: 127.0.0.1:${p.downIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: tcpdown, listen: 127.0.0.1:${p.tcpDownOut}, upstream: 127.0.0.1:${p.tcpDownIn}, protocol: tcp, serverId: ${ORDERS} }`,
      ],
    }),
  );
});

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  slowApp?.closeAllConnections();
  await new Promise((r) => slowApp?.close(r));
  await mesh?.stop();
});

async function timed(url: string) {
  const started = Date.now();
  const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  await res.arrayBuffer();
  return { status: res.status, reason: res.headers.get('x-tether-reason'), ms: Date.now() - started };
}

describe('a slow backend', () => {
  it('is answered 504 upstream_timeout after the inbound requestTimeout, with one log line', async () => {
    const r = await timed(`http://127.0.0.1:${p.slowOut}/hang`);
    expect(r).toMatchObject({ status: 504, reason: 'upstream_timeout' });
    expect(r.ms).toBeGreaterThanOrEqual(900);
    expect(r.ms).toBeLessThan(4000);
    const isSlowFailure = (l: Record<string, unknown>) =>
      l['msg'] === 'upstream request failed' && l['listener'] === 'slow';
    await orders.waitForLog(isSlowFailure);
    const lines = orders.logs().filter(isSlowFailure);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ code: 'ETIMEDOUT' });
  });

  it('does not delay other requests on the same listener', async () => {
    const doneAt = (r: Promise<{ status: number }>) => r.then((x) => ({ ...x, at: performance.now() }));
    const hanging = Array.from({ length: 20 }, () => doneAt(timed(`http://127.0.0.1:${p.slowOut}/hang`)));
    const ok = await doneAt(timed(`http://127.0.0.1:${p.slowOut}/ok`));
    expect(ok).toMatchObject({ status: 200 });
    const timedOut = await Promise.all(hanging);
    for (const r of timedOut) expect(r.status).toBe(504);
    // The quick request came back before any of the hanging ones reached their timeout.
    expect(ok.at).toBeLessThan(Math.min(...timedOut.map((r) => r.at)));
  });
});

describe('a backend that is down', () => {
  it('is answered 502 upstream_unavailable at once in HTTP mode', async () => {
    const r = await timed(`http://127.0.0.1:${p.downOut}/`);
    expect(r).toMatchObject({ status: 502, reason: 'upstream_unavailable' });
    expect(r.ms).toBeLessThan(2000);
    await orders.waitForLog((l) => l['msg'] === 'upstream request failed' && l['code'] === 'ECONNREFUSED');
  });

  it('closes the client connection promptly in TCP mode', async () => {
    const ms = await new Promise<number>((resolve) => {
      const started = Date.now();
      const s = net.connect(p.tcpDownOut, '127.0.0.1', () => s.write('hello'));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Date.now() - started));
    });
    expect(ms).toBeLessThan(3000);
  });

  it('leaves both sidecars running and serving', async () => {
    expect((await timed(`http://127.0.0.1:${p.slowOut}/ok`)).status).toBe(200);
    expect(orders.child.exitCode).toBeNull();
    expect(web.child.exitCode).toBeNull();
  });
});
