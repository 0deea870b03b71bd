// End to end with bearer tokens: app → web outbound (adds a token bound to its certificate) →
// orders inbound (checks signature, binding, scope) → app, while both certificates rotate every
// few seconds. The token must follow each rotation, or the binding check fails the requests.
import { afterAll, describe, expect, it } from 'vitest';
import { sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { startOidcProviderAs } from '../helpers/oauth-as.js';
import { freePort, startSidecar } from '../helpers/sidecar-process.js';
import { startTraffic } from '../helpers/traffic.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const RESOURCE = 'https://orders.example.org';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function metricValue(text: string, pattern: RegExp): number {
  return Number(pattern.exec(text)?.[1] ?? 0);
}

describe('bound tokens across certificate rotation', () => {
  it('keeps every request succeeding while web’s certificate (and so its token) rotates', async () => {
    const mesh = await startMesh('ttl: { default: 10s, max: 15s }\n');
    cleanups.push(() => mesh.stop());
    const app = await startEchoApp();
    cleanups.push(() => app.close());
    const as = await startOidcProviderAs({ mesh, clients: [WEB], resource: RESOURCE, scope: 'read:orders' });
    cleanups.push(() => as.close());
    const [inPort, outPort] = [await freePort(), await freePort()];
    const token = `issuer: "${as.issuer}", audience: "${RESOURCE}"`;
    const orders = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(ORDERS),
        ttl: '10s',
        inbound: [
          `{ name: orders, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:${app.port}, allow: [${WEB}], token: { ${token}, scopes: [read:orders] } }`,
        ],
      }),
    );
    cleanups.push(() => orders.stop());
    const web = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(WEB),
        ttl: '10s',
        outbound: [
          `{ name: orders, listen: 127.0.0.1:${outPort}, upstream: 127.0.0.1:${inPort}, serverId: ${ORDERS}, token: { ${token}, scope: read:orders } }`,
        ],
      }),
    );
    cleanups.push(() => web.stop());

    const serials = new Set<string>([(await web.certs()).serial]);
    const traffic = startTraffic({ httpPort: outPort, workers: 3, maxMs: 40_000 });
    const deadline = Date.now() + 35_000;
    while (Date.now() < deadline && (serials.size < 4 || Date.now() < deadline - 10_000)) {
      serials.add((await web.certs()).serial);
      await sleep(300);
    }
    const stats = await traffic.stop();
    const webMetrics = await web.metrics();
    const ordersMetrics = await orders.metrics();
    const obtained = metricValue(
      webMetrics,
      /tether_sidecar_token_requests_total\{listener="orders",result="ok"\} (\d+)/,
    );
    console.log(
      `tokens across rotation: ${stats.ok} requests, ${stats.failed} failed, ${serials.size - 1} rotations, ${obtained} tokens`,
    );
    expect(serials.size).toBeGreaterThanOrEqual(3);
    expect(stats.errors).toEqual([]);
    expect(stats.failed).toBe(0);
    expect(stats.ok).toBeGreaterThan(200);
    expect(obtained).toBeGreaterThanOrEqual(serials.size);
    expect(ordersMetrics).not.toMatch(/tether_sidecar_token_rejected_total\{/);
  }, 90_000);
});
