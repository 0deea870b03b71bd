// Measures issuance over gRPC from ONE client process against a real `tether ca serve`:
// sequential latency (p50/p99 of single SignCertificate calls) and throughput with N calls in
// flight. Bounded in time; loopback only. Run: npx tsx bench/ca-issuance.ts [seconds] [inflight]
import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { buildCsr } from '../sidecar/identity/csr.js';
import { caClient, signCertificate } from '../test/helpers/ca-client.js';
import { initCa, removeDir, startCa, tetherOk } from '../test/helpers/ca-process.js';

const seconds = Number(process.argv[2] ?? 10);
const inflight = Number(process.argv[3] ?? 32);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const dataDir = await initCa();
  const ca = await startCa({ dataDir });
  try {
    const token = await tetherOk([
      'ca',
      'token',
      'create',
      '--data-dir',
      dataDir,
      '--spiffe-id',
      'spiffe://example.org/bench',
      '--uses',
      '1000000',
      '--ttl',
      '1h',
    ]);
    const client = caClient(ca.address, ca.bundlePem);
    // Pre-built CSRs: the client's own key generation is not what we measure.
    const csrs = Array.from({ length: 64 }, () =>
      buildCsr(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
    );
    const call = (i: number) => signCertificate(client, { csr: csrs[i % csrs.length]!, joinToken: token });
    for (let i = 0; i < 50; i++) await call(i); // warm-up

    const latencies: number[] = [];
    const seqEnd = Date.now() + (seconds * 1000) / 2;
    for (let i = 0; Date.now() < seqEnd; i++) {
      const t = performance.now();
      await call(i);
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);

    let done = 0;
    const conEnd = Date.now() + (seconds * 1000) / 2;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inflight }, async (_, w) => {
        for (let i = w; Date.now() < conEnd; i += inflight) {
          await call(i);
          done++;
        }
      }),
    );
    const rate = done / ((performance.now() - t0) / 1000);
    client.close();
    console.log(
      JSON.stringify({
        sequential: {
          calls: latencies.length,
          p50Ms: +percentile(latencies, 50).toFixed(2),
          p99Ms: +percentile(latencies, 99).toFixed(2),
        },
        concurrent: { inflight, certificates: done, perSecond: Math.round(rate) },
      }),
    );
  } finally {
    await ca.stop();
    removeDir(path.dirname(dataDir));
  }
}

await main();
