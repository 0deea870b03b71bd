// Scenario 1: CA issuance, measured by bench/ca-issuance.ts (owned with the CA's issuance path):
// in-process CPU per certificate against OpenSSL's raw P-256 sign+verify, and certificates/s
// with p99 over gRPC from concurrent clients. Also the OpenSSL baseline itself.
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, run } from '../lib/procs.js';
import { fmt, type Row } from '../lib/report.js';

export interface OpensslSpeed {
  readonly signPerSecond: number;
  readonly verifyPerSecond: number;
  /** One sign + one verify, µs: the physical cost of an issuance. */
  readonly signVerifyUs: number;
}

export async function opensslSpeed(seconds: number): Promise<OpensslSpeed> {
  const out = await run(
    'openssl',
    ['speed', '-seconds', String(seconds), 'ecdsap256'],
    (seconds * 2 + 30) * 1000,
  );
  const m = /256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`cannot parse openssl speed output:\n${out}`);
  const sign = Number(m[1]);
  const verify = Number(m[2]);
  return {
    signPerSecond: sign,
    verifyPerSecond: verify,
    signVerifyUs: +(1e6 / sign + 1e6 / verify).toFixed(1),
  };
}

/**
 * What node:crypto alone costs per issuance, the floor under any Node CA: import the CSR's public
 * key (from JWK, the fastest import OpenSSL 3.0 offers here; SPKI DER is slower), verify the CSR
 * signature with it, and sign a TBSCertificate-sized message. µs per issuance, one core.
 */
export function nodeCryptoFloor(seconds: number): {
  usPerIssuance: number;
  importUs: number;
  verifyUs: number;
  signUs: number;
} {
  const ca = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const csrKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = csrKey.publicKey.export({ format: 'jwk' });
  const tbs = Buffer.alloc(420, 7); // about a leaf's TBSCertificate
  const csrSig = sign('sha256', tbs, csrKey.privateKey);
  const time = (f: () => unknown) => {
    for (let i = 0; i < 200; i++) f();
    const deadline = performance.now() + (seconds * 1000) / 3;
    const started = process.cpuUsage();
    let n = 0;
    while (performance.now() < deadline) {
      for (let i = 0; i < 50; i++) f();
      n += 50;
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / n;
  };
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const importUs = time(() => createPublicKey({ key: jwk, format: 'jwk' }));
  const verifyUs = time(() => verify('sha256', tbs, key, csrSig));
  const signUs = time(() => sign('sha256', tbs, ca));
  return { usPerIssuance: importUs + verifyUs + signUs, importUs, verifyUs, signUs };
}

type Numbers = Record<string, unknown>;
type Measures = {
  measureIssuanceInProcess(o: { seconds: number }): Promise<Numbers | number>;
  measureIssuanceGrpc(o: { seconds: number; clients: number; inFlight: number }): Promise<Numbers | number>;
};

/** The first numeric field whose name matches, or NaN. */
function pick(r: Numbers | number, ...patterns: RegExp[]): number {
  if (typeof r === 'number') return patterns.some((p) => p.test('perSecond')) ? r : Number.NaN;
  for (const p of patterns) {
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && p.test(k)) return v;
  }
  return Number.NaN;
}

/** Imports `name` from the first bench file that exports it (a file without it may run a CLI on import). */
async function findMeasure<K extends keyof Measures>(name: K): Promise<Measures[K] | null> {
  for (const f of ['ca-issuance.ts', 'ca-issuance-inprocess.ts']) {
    const file = path.join(BENCH_DIR, f);
    if (!existsSync(file)) continue;
    if (!new RegExp(`export (async )?function ${name}\\b`).test(readFileSync(file, 'utf8'))) continue;
    return ((await import(file)) as Measures)[name];
  }
  return null;
}

export async function caIssuance(
  o: { seconds: number; clients: number; inFlight: number },
  speed: OpensslSpeed,
  details: Record<string, unknown>,
): Promise<Row[]> {
  const rows: Row[] = [];
  const inProcessMeasure = await findMeasure('measureIssuanceInProcess');
  if (inProcessMeasure) {
    const inProcess = await inProcessMeasure({ seconds: o.seconds });
    details['caInProcess'] = inProcess;
    let cpuUs = pick(inProcess, /cpu.*us/i, /us.*per/i, /micro/i);
    if (!Number.isFinite(cpuUs)) cpuUs = 1e6 / pick(inProcess, /per ?sec/i, /rate/i);
    rows.push({
      scenario: '(1) CA issuance in process: CPU per certificate',
      tether: `${fmt(cpuUs, 1)} µs (${fmt(pick(inProcess, /per ?sec/i))}/s)`,
      baseline: `OpenSSL P-256 sign+verify ${speed.signVerifyUs} µs`,
      ratio: cpuUs / speed.signVerifyUs,
      target: '≤ 3× OpenSSL',
      pass: cpuUs / speed.signVerifyUs <= 3,
    });
    const floor = nodeCryptoFloor(Math.min(o.seconds, 6));
    details['nodeCryptoFloor'] = floor;
    rows.push({
      scenario: '(1) node:crypto floor per issuance: import the CSR key (JWK) + verify + sign',
      tether: `${fmt(floor.usPerIssuance, 1)} µs (import ${fmt(floor.importUs, 1)}, verify ${fmt(floor.verifyUs, 1)}, sign ${fmt(floor.signUs, 1)}); Tether's issuance = ${fmt(cpuUs / floor.usPerIssuance, 2)}× this`,
      baseline: `OpenSSL P-256 sign+verify ${speed.signVerifyUs} µs`,
      ratio: floor.usPerIssuance / speed.signVerifyUs,
      target: '— (informational)',
      pass: null,
    });
  } else {
    rows.push(missing('(1) CA issuance in process', 'measureIssuanceInProcess', '≤ 3× OpenSSL'));
  }
  const grpcMeasure = await findMeasure('measureIssuanceGrpc');
  if (grpcMeasure) {
    const grpc = await grpcMeasure(o);
    details['caGrpc'] = grpc;
    const rate = pick(grpc, /per ?sec/i, /rate/i, /certs/i);
    const p99 = pick(grpc, /p99/i);
    rows.push({
      scenario: `(1) CA issuance over gRPC (${o.clients} client processes × ${o.inFlight} in flight)`,
      tether: `${fmt(rate)} certificates/s, p50 ${fmt(pick(grpc, /p50/i), 1)} ms, p99 ${fmt(p99, 1)} ms`,
      baseline: '—',
      ratio: null,
      target: '≥ 3,000/s, p99 < 50 ms',
      pass: rate >= 3000 && p99 < 50,
    });
  } else {
    rows.push(missing('(1) CA issuance over gRPC', 'measureIssuanceGrpc', '≥ 3,000/s, p99 < 50 ms'));
  }
  return rows;
}

function missing(scenario: string, fn: string, target: string): Row {
  return {
    scenario,
    tether: `not measured: no bench file exports ${fn} yet`,
    baseline: '—',
    ratio: null,
    target,
    pass: false,
  };
}
