// CA issuance benchmarks (issue 7, scenario 1), callable from the harness (bench/scenarios/ca.ts)
// and as a CLI: `npx tsx bench/ca-issuance.ts [seconds] [clients] [inFlight]`.
//  - measureIssuanceInProcess: CPU per issuance through the real Issuer (CSR parse+verify, join
//    token attestation, authorization, encode+sign, read-back check, SQLite record, log line).
//  - measureIssuanceGrpc: certificates/s and p50/p99 from several client processes against a
//    real `tether ca serve`, plus the CA process's CPU per certificate.
//  - measureOpensslP256: OpenSSL's raw P-256 sign+verify, the physical cost of one issuance.
// Bounded in time; loopback only.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { initCa } from '../ca/admin/init.js';
import { createJoinToken, JoinTokenAttestor } from '../ca/attestation/join-token.js';
import { Authority } from '../ca/authority/authority.js';
import { dataDirPaths } from '../ca/authority/data-dir.js';
import { Issuer } from '../ca/issuer/issuer.js';
import { FailureTracker } from '../ca/limits/failure-tracker.js';
import { TokenBucket } from '../ca/limits/token-bucket.js';
import { CaMetrics } from '../ca/ops/metrics.js';
import { SqliteStore } from '../ca/store/sqlite.js';
import { systemClock } from '../common/clock.js';
import { createLogger } from '../common/logging.js';
import { parseWorkloadId } from '../common/spiffe-id.js';
import { buildCsr } from '../sidecar/identity/csr.js';
import { startBenchCa } from './ca-issuance-server.js';
import { cpuMs, runLoadAt, sleep, sysCpuMs } from './lib/procs.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface InProcessResult {
  readonly issuances: number;
  readonly perSecond: number;
  /** Wall-clock (= CPU, single-threaded and never idle) microseconds per issuance. */
  readonly usPerIssuance: number;
  /** Process CPU (user+system) microseconds per issuance, including SQLite and GC. */
  readonly cpuUsPerIssuance: number;
}

export interface OpensslResult {
  readonly signPerSecond: number;
  readonly verifyPerSecond: number;
  /** 1/sign + 1/verify in microseconds: the physical cost of one issuance. */
  readonly usPerSignVerify: number;
}

/** `openssl speed -seconds N ecdsap256`, parsed. */
export function measureOpensslP256({ seconds = 2 }: { seconds?: number } = {}): OpensslResult {
  const out = execFileSync('openssl', ['speed', '-seconds', String(seconds), 'ecdsap256'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const line = out.split('\n').find((l) => /^\s*256 bits ecdsa/.test(l));
  const nums = line?.match(/[\d.]+/g)?.map(Number) ?? [];
  // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  52000.0  16000.0": sign/s and verify/s last.
  const signPerSecond = nums.at(-2) ?? Number.NaN;
  const verifyPerSecond = nums.at(-1) ?? Number.NaN;
  return {
    signPerSecond,
    verifyPerSecond,
    usPerSignVerify: 1e6 / signPerSecond + 1e6 / verifyPerSecond,
  };
}

const nullSink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

/** Issues P-256 leaves back to back through the full pipeline for `seconds`; reports the cost. */
export async function measureIssuanceInProcess({
  seconds = 5,
  dnsNames = 1,
}: {
  seconds?: number;
  dnsNames?: number;
} = {}): Promise<InProcessResult> {
  const root = mkdtempSync(path.join(tmpdir(), 'tether-bench-ca-'));
  const dataDir = path.join(root, 'ca');
  const store = await (async () => {
    await initCa({
      dataDir,
      trustDomain: 'example.org',
      keyType: 'ecdsa-p256',
      rootTtlSeconds: 365 * 86400,
      intermediateTtlSeconds: 30 * 86400,
      passphrase: null,
    });
    return new SqliteStore(dataDirPaths(dataDir).dbFile, { create: false });
  })();
  try {
    const log = createLogger({ level: 'info', destination: nullSink() });
    const authority = await Authority.open({
      store,
      storage: { keysDir: dataDirPaths(dataDir).keysDir, passphrase: null },
      clock: systemClock,
      log,
      policy: {
        intermediateTtlSeconds: 30 * 86400,
        rootTtlSeconds: 365 * 86400,
        rootPropagationSeconds: 86400,
        maxLeafTtlSeconds: 86400,
      },
    });
    const names = Array.from({ length: dnsNames }, (_, i) => `svc${i}.bench.internal`);
    const { token } = await createJoinToken(store, {
      spiffeId: parseWorkloadId('spiffe://example.org/bench'),
      ttlSeconds: 3600,
      uses: 100_000_000,
      dnsNames: names,
      now: Date.now(),
    });
    const issuer = new Issuer({
      log,
      clock: systemClock,
      authority,
      store,
      attestors: [new JoinTokenAttestor(store)],
      ttl: { defaultTtlSeconds: 3600, maxTtlSeconds: 86400 },
      csrRate: new TokenBucket(1e9, 1e9, systemClock),
      failures: new FailureTracker(
        { maxFailures: 100, windowMs: 60_000, blockMs: 60_000, maxKeys: 1000 },
        systemClock,
      ),
      metrics: new CaMetrics(),
      maxCsrBytes: 16384,
    });
    const csrs = Array.from({ length: 64 }, () =>
      buildCsr(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, { dnsNames: names }),
    );
    const credential = { kind: 'join_token' as const, token };
    const peer = { address: '127.0.0.1:50000', certificate: null };
    const issue = (i: number) =>
      issuer.issue({ csr: csrs[i % csrs.length]!, credential, ttlSeconds: 0, peer });
    for (let i = 0; i < 200; i++) await issue(i); // warm-up (JIT)
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    let n = 0;
    while (performance.now() < end) await issue(n++);
    const elapsed = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      issuances: n,
      perSecond: Math.round((n / elapsed) * 1000),
      usPerIssuance: +((elapsed * 1000) / n).toFixed(1),
      cpuUsPerIssuance: +((cpu.user + cpu.system) / n).toFixed(1),
    };
  } finally {
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}

export interface GrpcResult {
  readonly clients: number;
  readonly inFlight: number;
  readonly certificates: number;
  readonly failed: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU the CA process spent per certificate during the window (gRPC, TLS, issuance, SQLite). */
  readonly caCpuUsPerCert: number;
  /** The kernel's share of caCpuUsPerCert (socket, pipe and WAL writes). */
  readonly caSysUsPerCert: number;
  readonly errors: string[];
}

interface ClientResult {
  ok: number;
  failed: number;
  errors: string[];
  latencies: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

/**
 * `clients` load processes, each with `inFlight` calls outstanding, against a real CA for
 * `seconds`. The window starts once every client is connected and warm.
 */
export async function measureIssuanceGrpc({
  seconds = 10,
  clients = 3,
  inFlight = 16,
}: {
  seconds?: number;
  clients?: number;
  inFlight?: number;
} = {}): Promise<GrpcResult> {
  const ca = await startBenchCa();
  try {
    const syncDir = mkdtempSync(path.join(tmpdir(), 'tether-bench-sync-'));
    const runs = Array.from({ length: clients }, () =>
      runLoadAt<ClientResult>(
        path.join(HERE, 'ca-issuance-client.ts'),
        [ca.address, ca.bundleFile, ca.token, String(seconds), String(inFlight), syncDir],
        (seconds + 180) * 1000,
      ),
    );
    const giveUp = Date.now() + 120_000; // client start-up (tsx, CSR keys, warm-up) is not measured
    while (readdirSync(syncDir).length < clients && Date.now() < giveUp) await sleep(50);
    const startAt = Date.now() + 200;
    writeFileSync(path.join(syncDir, 'go'), String(startAt));
    await sleep(startAt - Date.now());
    const cpu0 = cpuMs([ca.child.pid!]);
    const sys0 = sysCpuMs(ca.child.pid!);
    const results = await Promise.all(runs);
    rmSync(syncDir, { recursive: true, force: true });
    const caCpu = cpuMs([ca.child.pid!]) - cpu0;
    const caSys = sysCpuMs(ca.child.pid!) - sys0;
    const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const certificates = latencies.length;
    return {
      clients,
      inFlight,
      certificates,
      failed: results.reduce((n, r) => n + r.failed, 0),
      perSecond: Math.round(certificates / seconds),
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      caCpuUsPerCert: certificates ? +((caCpu * 1000) / certificates).toFixed(1) : Number.NaN,
      caSysUsPerCert: certificates ? +((caSys * 1000) / certificates).toFixed(1) : Number.NaN,
      errors: [...new Set(results.flatMap((r) => r.errors))],
    };
  } finally {
    await ca.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [seconds = 5, clients = 3, inFlight = 16] = process.argv.slice(2).map(Number);
  const openssl = measureOpensslP256({ seconds: 2 });
  const inProcess = await measureIssuanceInProcess({ seconds });
  const grpc = await measureIssuanceGrpc({ seconds, clients, inFlight });
  console.log(
    JSON.stringify({
      openssl,
      inProcess: {
        ...inProcess,
        ratioToOpenssl: +(inProcess.cpuUsPerIssuance / openssl.usPerSignVerify).toFixed(2),
      },
      grpc,
    }),
  );
}
