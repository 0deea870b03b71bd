// `tether sidecar status --admin ADDR` against real sidecars after one request through the mesh.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tether } from '../helpers/ca-process.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;

beforeAll(async () => {
  mesh = await startMesh();
  app = await startEchoApp();
  const inPort = await freePort();
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders-in, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders-out, listen: 127.0.0.1:0, upstream: 127.0.0.1:${inPort}, protocol: http, serverId: ${ORDERS} }`,
      ],
    }),
  );
  const res = await fetch(`http://127.0.0.1:${web.ports['outbound.orders-out']}/hello`);
  expect(res.status).toBe(200);
  await res.text();
});

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  await app?.close();
  await mesh?.stop();
});

describe('tether sidecar status', () => {
  it("prints the inbound sidecar's identity, expiry, listener and counters", async () => {
    const r = await tether(['sidecar', 'status', '--admin', `127.0.0.1:${orders.adminPort}`]);
    expect(r.code, r.stderr).toBe(0);
    const certs = await orders.certs();
    expect(r.stdout).toMatch(new RegExp(`identity:\\s+${ORDERS}`));
    expect(r.stdout).toContain(certs.serial);
    expect(r.stdout).toMatch(/ready:\s+yes/);
    expect(r.stdout).toMatch(/expires:\s+\S+Z \(\d+m \d+s left\)/);
    expect(r.stdout).toMatch(/trust bundle:\s+sequence 1, 1 root\(s\)/);
    const row = r.stdout.split('\n').find((l) => l.includes('orders-in'));
    expect(row).toBeDefined();
    // direction, name, protocol, listen, port, target, handshakes ok/refused/failed, active, requests
    expect(row!.split(/\s+/)).toEqual([
      'inbound',
      'orders-in',
      'http',
      expect.any(String),
      expect.any(String),
      `127.0.0.1:${app.port}`,
      '1',
      '0',
      '0',
      expect.any(String),
      '1',
    ]);
  });

  it('names the outbound listener of the caller, with its bound port', async () => {
    const r = await tether(['sidecar', 'status', '--admin', `127.0.0.1:${web.adminPort}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(WEB);
    const row = r.stdout.split('\n').find((l) => l.includes('orders-out'));
    expect(row).toMatch(
      new RegExp(
        `^outbound\\s+orders-out\\s+http\\s+127\\.0\\.0\\.1:0\\s+${web.ports['outbound.orders-out']}\\s`,
      ),
    );
  });

  it('reports /certs listeners as JSON with --json', async () => {
    const r = await tether(['sidecar', 'status', '--admin', `127.0.0.1:${web.adminPort}`, '--json']);
    const report = JSON.parse(r.stdout);
    expect(report.certs.spiffeId).toBe(WEB);
    expect(report.listeners).toEqual([
      expect.objectContaining({
        name: 'orders-out',
        direction: 'outbound',
        protocol: 'http',
        handshakesOk: 1,
      }),
    ]);
  });

  it('fails with exit 1 and a reason when nothing listens there', async () => {
    const r = await tether(['sidecar', 'status', '--admin', `127.0.0.1:${await freePort()}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot read the admin listener');
  });
});
