// Load generators the harness runs in their own processes, each bounded in time, loopback only.
// Prints one JSON line. Modes:
//   handshake PORT SECONDS CONCURRENCY CERTDIR  new mTLS connection per request (GET /1k, close)
//   paced PORT PATH RATE SECONDS                 HTTP keep-alive GETs at a fixed rate: latency
//   tcpnew PORT RATE SECONDS                     new plaintext connection per request (GET /1k)
//   connect PORT SECONDS CONCURRENCY             the same, as fast as it goes
//   hold PORT COUNT SECONDS                      opens COUNT connections, each proven with one
//                                                request, prints {"open":N}, holds them SECONDS
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

const [mode, ...args] = process.argv.slice(2);
// SIGTERM ends the run early (the harness has what it needs); the counts so far are printed.
let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
});
const REQUEST = 'GET /1k HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n';

function pct(sorted: number[], p: number): number {
  return +(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN).toFixed(
    3,
  );
}

/** Sends REQUEST on a fresh socket and resolves when the server closes after a 200. */
function exchange(socket: net.Socket | tls.TLSSocket, connectEvent: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.once(connectEvent, () => socket.write(REQUEST));
    socket.on('data', (d: Buffer) => {
      if (head.length < 16) head += d.toString('latin1', 0, 16);
    });
    socket.once('error', reject);
    socket.once('close', () =>
      head.startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(`bad answer: ${head || 'none'}`)),
    );
  });
}

async function bounded(seconds: number, workers: number, once: () => Promise<void>, pauseMs = 0) {
  let ok = 0;
  let failed = 0;
  const errors = new Set<string>();
  const end = Date.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (Date.now() < end && !stopping) {
        try {
          await once();
          ok++;
        } catch (err) {
          failed++;
          if (errors.size < 10) errors.add((err as Error).message);
        }
        if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return { ok, failed, perSecond: Math.round(ok / elapsed), errors: [...errors] };
}

async function handshake(port: number, seconds: number, concurrency: number, certDir: string) {
  const read = (f: string) => readFileSync(path.join(certDir, f));
  const secureContext = tls.createSecureContext({
    key: read('key.pem'),
    cert: read('cert.pem'),
    ca: read('bundle.pem'),
    minVersion: 'TLSv1.3',
  });
  const once = () =>
    exchange(
      tls.connect({ host: '127.0.0.1', port, secureContext, checkServerIdentity: () => undefined }),
      'secureConnect',
    );
  return bounded(seconds, concurrency, once);
}

async function paced(port: number, urlPath: string, rate: number, seconds: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let latencies: number[] = [];
  let failed = 0;
  const errors = new Set<string>();
  const fail = (why: string) => {
    failed++;
    if (errors.size < 10) errors.add(why);
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const t = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent, timeout: 5000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(performance.now() - t);
          else fail(`HTTP ${res.statusCode} ${res.headers['x-tether-reason'] ?? ''}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        fail(err.message);
        resolve();
      });
    });
  // Open loop: request i is sent at t0 + i/rate whatever the answers do; queueing shows as latency.
  const phase = async (secs: number) => {
    const pending: Promise<void>[] = [];
    const t0 = performance.now();
    const total = Math.round(rate * secs);
    for (let i = 0; i < total && !stopping; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      pending.push(one());
    }
    await Promise.all(pending);
  };
  await phase(Math.min(1, seconds / 4)); // warm-up: connections and JIT, not counted
  latencies = [];
  const warmFailed = failed;
  failed = 0;
  await phase(seconds);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    failed,
    warmFailed,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    errors: [...errors],
  };
}

async function hold(port: number, count: number, seconds: number) {
  const sockets: net.Socket[] = [];
  const openOne = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /1k HTTP/1.1\r\nHost: bench\r\n\r\n'));
      s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
      s.once('data', () => {
        s.setTimeout(0);
        sockets.push(s);
        resolve();
      });
      s.once('error', reject);
    });
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, openOne));
  }
  console.log(JSON.stringify({ open: sockets.length }));
  const until = Date.now() + seconds * 1000;
  while (!stopping && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  for (const s of sockets) s.destroy();
  return { open: sockets.length };
}

const n = (i: number) => Number(args[i]);
const result =
  mode === 'handshake'
    ? await handshake(n(0), n(1), n(2), args[3]!)
    : mode === 'paced'
      ? await paced(n(0), args[1]!, n(2), n(3))
      : mode === 'tcpnew'
        ? await bounded(
            n(2),
            Math.max(1, Math.round(n(1) / 50)),
            () => exchange(net.connect(n(0), '127.0.0.1'), 'connect'),
            20,
          )
        : mode === 'connect'
          ? await bounded(n(1), n(2), () => exchange(net.connect(n(0), '127.0.0.1'), 'connect'))
          : mode === 'hold'
            ? await hold(n(0), n(1), n(2))
            : null;
if (!result) {
  console.error('usage: client.ts handshake|paced|tcpnew|hold …');
  process.exit(2);
}
console.log(JSON.stringify(result));
process.exit(0);
