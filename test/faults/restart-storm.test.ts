// A restart storm: 200 sidecar identities (replicas of one workload, one multi-use join token)
// start at the same moment against a real CA with a low CSR rate limit. The CA's
// RESOURCE_EXHAUSTED and the sidecars' jittered backoff smooth the load, and every one of them
// obtains its certificate.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../common/clock.js';
import { createLogger } from '../../common/logging.js';
import { SidecarMetrics } from '../../sidecar/admin/metrics.js';
import { loadSidecarConfig } from '../../sidecar/config/load.js';
import { CaConnection } from '../../sidecar/identity/ca-connection.js';
import { IdentitySource } from '../../sidecar/identity/source.js';
import { type Mesh, startMesh } from '../helpers/mesh.js';

const N = 200;
const RATE = 40;
const ID = 'spiffe://example.org/ns/storm/sa/replica';

let mesh: Mesh;
const sources: IdentitySource[] = [];
const metrics = new SidecarMetrics();
const lostReadiness: number[] = [];

const count = async (name: string, labels: string) =>
  Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(await metrics.registry.metrics())?.[1] ?? 0);
const caCount = async (labels: string) => {
  const text = await (await fetch(`http://127.0.0.1:${mesh.ca.metricsPort}/metrics`)).text();
  return Number(new RegExp(`tether_ca_rate_limited_total\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
};

beforeAll(async () => {
  mesh = await startMesh(`limits: { csrPerSecond: ${RATE}, csrBurst: ${RATE} }\n`);
  const tokenFile = await mesh.tokenFile(ID, 2 * N);
  const configFile = path.join(mesh.dir, 'storm.yaml');
  writeFileSync(
    configFile,
    `trustDomain: example.org\nca: { address: ${mesh.ca.address}, bundleFile: ${mesh.bundleFile}, joinTokenFile: ${tokenFile}, ttl: 10m }\n`,
  );
  const config = loadSidecarConfig(configFile);
  const quiet = createLogger({ level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  // One gRPC channel for all (HTTP/2 multiplexing): the storm is in CSRs, not in TLS handshakes
  // the test process would have to make on 2 shared cores.
  const ca = new CaConnection({
    address: config.ca!.address,
    trustDomain: config.trustDomain ?? 'example.org',
    timeoutMs: 20_000,
  });
  for (let i = 0; i < N; i++) {
    const source = new IdentitySource({
      config: config as never,
      ca,
      log: quiet,
      clock: systemClock,
      metrics,
    });
    let wasReady = false;
    source.subscribe((s) => {
      if (s.svid) wasReady = true;
      else if (wasReady) lostReadiness.push(i);
    });
    sources.push(source);
  }
});

afterAll(async () => {
  for (const s of sources) s.stop();
  await mesh?.stop();
});

describe(`restart storm of ${N} identities`, () => {
  it('all obtain a certificate while the CA rate-limits part of the storm', async () => {
    const started = Date.now();
    await Promise.all(sources.map((s) => s.start()));
    const seconds = (Date.now() - started) / 1000;
    expect(sources.every((s) => s.isReady())).toBe(true);
    expect(lostReadiness).toEqual([]);
    expect(await count('tether_sidecar_renewals_total', 'result="attested"')).toBe(N);
    // The CA's limit was really hit, and the storm was spread over at least N / RATE seconds.
    expect(await caCount('limit="csr_rate"')).toBeGreaterThan(0);
    expect(seconds).toBeGreaterThanOrEqual((N - RATE) / RATE - 1);
    console.log(
      `storm: ${N} identities attested in ${seconds.toFixed(1)} s; ${await caCount('limit="csr_rate"')} rate-limited refusals`,
    );
  }, 90_000);
});
