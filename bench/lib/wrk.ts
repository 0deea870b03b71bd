// Runs wrk (a separate process, bounded by -d) and parses req/s, latency percentiles,
// throughput and errors from its text report.
import { run } from './procs.js';

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly mbPerSec: number;
  /** Socket errors plus non-2xx/3xx responses. */
  readonly errors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const UNIT_MB: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };

function latencyMs(text: string, pct: string): number {
  const m = new RegExp(`^\\s*${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
  return m ? +(Number(m[1]) * UNIT_MS[m[2]!]!).toFixed(3) : Number.NaN;
}

export function parseWrk(text: string): WrkResult {
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0);
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(text);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const socketErrors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return {
    requests,
    rps: Math.round(rps),
    p50Ms: latencyMs(text, '50'),
    p99Ms: latencyMs(text, '99'),
    mbPerSec: transfer ? +(Number(transfer[1]) * UNIT_MB[transfer[2]!]!).toFixed(1) : 0,
    errors: socketErrors + non2xx,
  };
}

/** wrk with one thread and `connections` keep-alive connections for `seconds`. */
export async function wrk(url: string, seconds: number, connections = 16): Promise<WrkResult> {
  const text = await run(
    'wrk',
    ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url],
    (seconds + 20) * 1000,
  );
  return parseWrk(text);
}
