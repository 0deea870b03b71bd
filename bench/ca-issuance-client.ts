// One gRPC load client process for bench/ca-issuance.ts: `inFlight` SignCertificate calls at a
// time with pre-built P-256 CSRs. When warm it creates SYNC_DIR/ready.PID, then waits for
// SYNC_DIR/go (holding the start time, ms) so every process measures the same wall-clock window.
// Prints one JSON line with counts and latencies (ms).
// Args: ADDRESS BUNDLE_FILE TOKEN SECONDS IN_FLIGHT SYNC_DIR
import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildCsr } from '../sidecar/identity/csr.js';
import { caClient, signCertificate } from '../test/helpers/ca-client.js';

const [address, bundleFile, token, secondsArg, inFlightArg, syncDir] = process.argv.slice(2);
const seconds = Number(secondsArg);
const inFlight = Number(inFlightArg);

const client = caClient(address!, readFileSync(bundleFile!, 'utf8'));
// Pre-built CSRs: the client's own key generation is not what is measured.
const csrs = Array.from({ length: 64 }, () =>
  buildCsr(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey),
);
const call = (i: number) => signCertificate(client, { csr: csrs[i % csrs.length]!, joinToken: token! });
for (let i = 0; i < 20; i++) await call(i); // connection and JIT warm-up

writeFileSync(path.join(syncDir!, `ready.${process.pid}`), '');
const goFile = path.join(syncDir!, 'go');
const giveUp = Date.now() + 120_000;
while (!existsSync(goFile) && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 20));
const startAt = Number(readFileSync(goFile, 'utf8'));
await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
const end = startAt + seconds * 1000;
const latencies: number[] = [];
let failed = 0;
const errors = new Set<string>();
await Promise.all(
  Array.from({ length: inFlight }, async (_, w) => {
    for (let i = w; Date.now() < end; i += inFlight) {
      const t = performance.now();
      try {
        await call(i);
        latencies.push(+(performance.now() - t).toFixed(2));
      } catch (err) {
        failed++;
        if (errors.size < 5) errors.add((err as Error).message);
      }
    }
  }),
);
client.close();
console.log(JSON.stringify({ ok: latencies.length, failed, errors: [...errors], latencies }));
