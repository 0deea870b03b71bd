// Clock skew of ±2 minutes between the CA and the sidecars, with libfaketime (Debian `faketime`)
// shifting each sidecar process's clock: enrollment and mTLS handshakes still succeed. (Renewal
// under skew follows the sidecar's own receipt time, see identity/schedule.ts.)
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

const skewed = (offset: string): NodeJS.ProcessEnv => ({
  LD_PRELOAD: LIBFAKETIME,
  FAKETIME: offset,
  DONT_FAKE_MONOTONIC: '1',
});

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
const sidecars: SidecarProcess[] = [];

/** An inbound sidecar at `inOffset` and an outbound one at `outOffset`; returns the outbound port. */
async function pair(
  inOffset: string,
  outOffset: string,
): Promise<{ out: number; orders: SidecarProcess; web: SidecarProcess }> {
  const inPort = await freePort();
  const out = await freePort();
  const common = { caAddress: mesh.ca.address, bundleFile: mesh.bundleFile, ttl: '10m' };
  const orders = await startSidecar(
    sidecarYaml({
      ...common,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
      ],
    }),
    { env: skewed(inOffset) },
  );
  const web = await startSidecar(
    sidecarYaml({
      ...common,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${out}, upstream: 127.0.0.1:${inPort}, protocol: http, serverId: ${ORDERS} }`,
      ],
    }),
    { env: skewed(outOffset) },
  );
  sidecars.push(orders, web);
  return { out, orders, web };
}

beforeAll(async () => {
  // The CA was set up 3 minutes ago (its root and intermediate carry a 60 s backdate, which a
  // sidecar 2 minutes behind would otherwise see as "not yet valid" in the CA's first minute).
  mesh = await startMesh('', [], skewed('-3m'));
  app = await startEchoApp();
});

afterAll(async () => {
  for (const s of sidecars) await s.stop();
  await app?.close();
  await mesh?.stop();
});

describe('clock skew of ±2 minutes', () => {
  it('libfaketime is installed (CI installs the faketime package)', () => {
    expect(existsSync(LIBFAKETIME)).toBe(true);
  });

  it.each([
    ['the server 2 minutes behind, the client 2 minutes ahead', '-2m', '+2m'],
    ['the server 2 minutes ahead, the client 2 minutes behind', '+2m', '-2m'],
  ])('%s: enrollment and handshakes succeed', async (_name, inOffset, outOffset) => {
    const { out, orders, web } = await pair(inOffset, outOffset);
    // The skew is real: the sidecar's own log timestamps are shifted.
    const t = Date.parse(String(web.logs()[0]?.['time']));
    expect(Math.abs(t - Date.now() - (outOffset.startsWith('+') ? 120_000 : -120_000))).toBeLessThan(10_000);
    expect((await fetch(`http://127.0.0.1:${out}/skew`)).status).toBe(200);
    expect((await orders.certs()).ready).toBe(true);
    await orders.stop();
    await web.stop();
  });
});
