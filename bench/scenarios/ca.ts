// Scenario 1: CA issuance, measured by bench/ca-issuance.ts (owned with the CA's issuance path):
// in-process CPU per certificate against OpenSSL's raw P-256 sign+verify, and certificates/s
// with p99 over gRPC from concurrent clients. Also the OpenSSL baseline itself.
import { readFileSync } from 'node:fs';
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

export async function caIssuance(
  o: { seconds: number; clients: number; inFlight: number },
  speed: OpensslSpeed,
  details: Record<string, unknown>,
): Promise<Row[]> {
  const file = path.join(BENCH_DIR, 'ca-issuance.ts');
  // The module runs a CLI when it does not export the measures yet: do not import it then.
  if (!/export (async )?function measureIssuanceGrpc/.test(readFileSync(file, 'utf8'))) {
    details['ca'] = 'bench/ca-issuance.ts does not export measureIssuanceInProcess/measureIssuanceGrpc yet';
    return [
      {
        scenario: '(1) CA issuance',
        tether: 'not measured: bench/ca-issuance.ts exports no measures yet',
        baseline: `OpenSSL sign+verify ${speed.signVerifyUs} µs`,
        ratio: null,
        target: '≤ 3× OpenSSL; ≥ 3,000/s, p99 < 50 ms',
        pass: false,
      },
    ];
  }
  const m = (await import(file)) as Measures;
  const inProcess = await m.measureIssuanceInProcess({ seconds: o.seconds });
  const grpc = await m.measureIssuanceGrpc(o);
  details['ca'] = { inProcess, grpc };
  let cpuUs = pick(inProcess, /cpu.*us/i, /us.*per/i, /micro/i);
  if (!Number.isFinite(cpuUs)) cpuUs = 1e6 / pick(inProcess, /per ?sec/i, /rate/i);
  const rate = pick(grpc, /per ?sec/i, /rate/i, /certs/i);
  const p99 = pick(grpc, /p99/i);
  return [
    {
      scenario: '(1) CA issuance in process: CPU per certificate',
      tether: `${fmt(cpuUs, 1)} µs`,
      baseline: `OpenSSL P-256 sign+verify ${speed.signVerifyUs} µs`,
      ratio: cpuUs / speed.signVerifyUs,
      target: '≤ 3× OpenSSL',
      pass: cpuUs / speed.signVerifyUs <= 3,
    },
    {
      scenario: `(1) CA issuance over gRPC (${o.clients} client processes × ${o.inFlight} in flight)`,
      tether: `${fmt(rate)} certificates/s, p99 ${fmt(p99, 1)} ms`,
      baseline: '—',
      ratio: null,
      target: '≥ 3,000/s, p99 < 50 ms',
      pass: rate >= 3000 && p99 < 50,
    },
  ];
}
