// The CA goes away under a running sidecar pair with short-lived certificates: past half the TTL
// the pair keeps serving on its current certificates and /readyz stays 200; renewal resumes when
// the CA is back; with the CA down past expiry /readyz turns 503 and traffic is refused cleanly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaProcess, startCa } from '../helpers/ca-process.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const TTL_MS = 10_000;

let mesh: Mesh;
let ca: CaProcess | null;
let caPort = 0;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;
let outPort = 0;
let inPort = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readyz = async (s: SidecarProcess) => (await fetch(`http://127.0.0.1:${s.adminPort}/readyz`)).status;
const through = async () => {
  const started = Date.now();
  const res = await fetch(`http://127.0.0.1:${outPort}/x`, { signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return { status: res.status, ms: Date.now() - started, reason: res.headers.get('x-tether-reason') };
};
const failedRenewals = async (s: SidecarProcess) =>
  Number(
    /tether_sidecar_renewals_total\{result="(?:failed|error|failure)"\} (\d+)/.exec(await s.metrics())?.[1] ??
      0,
  );

async function restartCa(): Promise<void> {
  ca = await startCa({ dataDir: mesh.dataDir, args: ['--listen', `127.0.0.1:${caPort}`] });
}

beforeAll(async () => {
  mesh = await startMesh();
  // Restart the mesh's CA on a fixed port so the sidecars can find it again after an outage.
  await mesh.ca.stop();
  caPort = await freePort();
  await restartCa();
  app = await startEchoApp();
  inPort = await freePort();
  outPort = await freePort();
  const common = { caAddress: `127.0.0.1:${caPort}`, bundleFile: mesh.bundleFile, ttl: `${TTL_MS / 1000}s` };
  orders = await startSidecar(
    sidecarYaml({
      ...common,
      tokenFile: await mesh.tokenFile(ORDERS, 5),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      ...common,
      tokenFile: await mesh.tokenFile(WEB, 5),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${outPort}, upstream: 127.0.0.1:${inPort}, protocol: http, serverId: ${ORDERS} }`,
      ],
    }),
  );
});

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  await app?.close();
  await ca?.stop();
  await mesh?.stop();
});

describe('CA outage', () => {
  it('past half the TTL the pair keeps serving on its current certificates and stays ready', async () => {
    const first = await orders.certs();
    await ca!.stop('SIGKILL');
    ca = null;
    // Wait until both sidecars are past their renewal time (half-life + 10 % jitter).
    const renewBy = Date.parse(first.notAfter) - TTL_MS * 0.4 + 1000;
    await sleep(Math.max(0, renewBy - Date.now()));
    expect((await through()).status).toBe(200);
    expect(await readyz(orders)).toBe(200);
    expect(await readyz(web)).toBe(200);
    expect((await orders.certs()).serial).toBe(first.serial);
    await expect.poll(() => failedRenewals(orders), { timeout: 5000 }).toBeGreaterThan(0);
  });

  it('renews once the CA is back, without dropping traffic', async () => {
    const before = await orders.certs();
    await restartCa();
    await expect
      .poll(async () => (await orders.certs()).serial, { timeout: 15_000, interval: 250 })
      .not.toBe(before.serial);
    expect((await through()).status).toBe(200);
  });

  it('with the CA down past expiry, /readyz turns 503 and traffic is refused promptly', async () => {
    const current = await web.certs();
    await ca!.stop('SIGKILL');
    ca = null;
    const expiry = Math.max(Date.parse(current.notAfter), Date.parse((await orders.certs()).notAfter));
    // Until expiry they keep serving.
    expect(await readyz(web)).toBe(200);
    await sleep(Math.max(0, expiry - Date.now() + 1500));
    await expect.poll(() => readyz(web), { timeout: 5000 }).toBe(503);
    await expect.poll(() => readyz(orders), { timeout: 5000 }).toBe(503);
    const r = await through();
    expect(r.status).toBe(503);
    expect(r.reason).toBe('sidecar_not_ready');
    expect(r.ms).toBeLessThan(3000);
    expect(orders.child.exitCode).toBeNull();
    expect(web.child.exitCode).toBeNull();
  });

  // Re-attestation after expiry needs a credential that can still attest: the join tokens here
  // allow 5 uses (a spent single-use token would leave the sidecar unready, by design).
  it('re-attests and comes back to ready on its own when the CA returns after expiry', async () => {
    await restartCa();
    await expect.poll(() => readyz(web), { timeout: 20_000, interval: 250 }).toBe(200);
    await expect.poll(() => readyz(orders), { timeout: 20_000, interval: 250 }).toBe(200);
    await expect.poll(async () => (await through()).status, { timeout: 10_000 }).toBe(200);
  });
});
