// Many idle connections against a real sidecar pair: 2,000 idle clients do not stop new requests
// from being served, and an inbound listener at its maxConnections closes further connections
// at once (counted), then serves again when they go away.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const LIMIT = 50;

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;
const p = { in: 0, limited: 0, out: 0 };
const open: net.Socket[] = [];

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

async function connectMany(port: number, n: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i += 200) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => connect(port)))));
  }
  for (const s of out) s.on('error', () => undefined);
  open.push(...out);
  return out;
}

beforeAll(async () => {
  mesh = await startMesh();
  app = await startEchoApp();
  p.in = await freePort();
  p.limited = await freePort();
  p.out = await freePort();
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${p.in}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}], handshakeTimeout: 60s }`,
        `{ name: limited, listen: 127.0.0.1:${p.limited}, forward: 127.0.0.1:${app.port}, protocol: tcp, allow: [${WEB}], maxConnections: ${LIMIT}, handshakeTimeout: 60s }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${p.out}, upstream: 127.0.0.1:${p.in}, protocol: http, serverId: ${ORDERS}, headerTimeout: 60s }`,
      ],
    }),
  );
});

afterAll(async () => {
  for (const s of open) s.destroy();
  await web?.stop();
  await orders?.stop();
  await app?.close();
  await mesh?.stop();
});

describe('2,000 idle connections', () => {
  it('do not stop new requests through the pair from being served promptly', async () => {
    await connectMany(p.out, 1000);
    await connectMany(p.in, 1000);
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(`http://127.0.0.1:${p.out}/busy/${i}`).then((r) => r.status),
      ),
    );
    const ms = performance.now() - started;
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(ms).toBeLessThan(10_000);
    const active = await web.metrics();
    expect(
      Number(
        /tether_sidecar_active_connections\{direction="outbound",listener="orders"\} (\d+)/.exec(active)?.[1],
      ),
    ).toBeGreaterThanOrEqual(1000);
    expect(orders.child.exitCode).toBeNull();
    expect(web.child.exitCode).toBeNull();
  }, 60_000);
});

describe('an inbound listener at maxConnections', () => {
  const refusedCount = async () =>
    Number(
      /tether_sidecar_handshakes_total\{direction="inbound",listener="limited",result="refused",reason="max_connections"\} (\d+)/.exec(
        await orders.metrics(),
      )?.[1] ?? 0,
    );

  it('closes each further connection at once and counts it', async () => {
    const held = await connectMany(p.limited, LIMIT);
    const extra = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const s = await connect(p.limited);
        const started = Date.now();
        await new Promise((r) => s.once('close', r));
        return Date.now() - started;
      }),
    );
    for (const ms of extra) expect(ms).toBeLessThan(2000);
    await expect.poll(refusedCount, { timeout: 5000 }).toBe(5);
    for (const s of held) s.destroy();
  });

  it('accepts connections again once the held ones are gone', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const s = await connect(p.limited);
    const closedEarly = await new Promise<boolean>((resolve) => {
      s.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 1000);
    });
    s.destroy();
    expect(closedEarly).toBe(false);
  });
});
