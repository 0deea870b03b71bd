// `npm run soak [-- --duration 10m]`: steady load through a real sidecar pair (HTTP keep-alive
// requests and fresh TCP connections, each a new mTLS handshake) with 20 s certificates, so the
// pair rotates every ~10 s. Samples RSS and open file descriptors of the CA and both sidecars and
// fails if any request failed, fewer than 50 rotations happened in a full run, or RSS / fds grew
// more than 10 % between the first and last third (after a warm-up). Not part of `npm test`.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { parseDurationMs } from '../common/duration.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../test/helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../test/helpers/sidecar-process.js';
import { startTraffic } from '../test/helpers/traffic.js';

const WEB = 'spiffe://example.org/ns/soak/sa/web';
const ORDERS = 'spiffe://example.org/ns/soak/sa/orders';
const SAMPLE_MS = 5000;

interface Sample {
  at: number;
  rss: Record<string, number>;
  fds: Record<string, number>;
}

function durationArg(): number {
  const i = process.argv.indexOf('--duration');
  return parseDurationMs(i > 0 ? (process.argv[i + 1] ?? '10m') : '10m');
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Median of the first and last third of the samples after warm-up, and the growth between them. */
function growth(
  samples: Sample[],
  pick: (s: Sample) => number,
): { first: number; last: number; pct: number } {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = median(samples.slice(0, third).map(pick));
  const last = median(samples.slice(-third).map(pick));
  return { first, last, pct: first ? ((last - first) / first) * 100 : 0 };
}

async function tcpEcho(): Promise<{ port: number; close(): void }> {
  const server = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

const rotations = (s: SidecarProcess) => s.logs().filter((l) => l['msg'] === 'certificate renewed').length;

async function main(): Promise<void> {
  const durationMs = durationArg();
  const warmupMs = Math.min(30_000, durationMs / 5);
  const mesh: Mesh = await startMesh('ttl: { default: 20s, max: 20s }\n');
  const app = await startEchoApp();
  const echo = await tcpEcho();
  const p = {
    httpIn: await freePort(),
    tcpIn: await freePort(),
    httpOut: await freePort(),
    tcpOut: await freePort(),
  };
  const common = { caAddress: mesh.ca.address, bundleFile: mesh.bundleFile, ttl: '20s' };
  const orders = await startSidecar(
    sidecarYaml({
      ...common,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: http, listen: 127.0.0.1:${p.httpIn}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
        `{ name: tcp, listen: 127.0.0.1:${p.tcpIn}, forward: 127.0.0.1:${echo.port}, protocol: tcp, allow: [${WEB}] }`,
      ],
    }),
  );
  const web = await startSidecar(
    sidecarYaml({
      ...common,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: http, listen: 127.0.0.1:${p.httpOut}, upstream: 127.0.0.1:${p.httpIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: tcp, listen: 127.0.0.1:${p.tcpOut}, upstream: 127.0.0.1:${p.tcpIn}, protocol: tcp, serverId: ${ORDERS} }`,
      ],
    }),
  );
  const pids = { ca: mesh.ca.child.pid!, orders: orders.child.pid!, web: web.child.pid! };
  console.log(
    `soak: ${durationMs / 1000} s through a sidecar pair (20 s certificates), sampling every ${SAMPLE_MS / 1000} s`,
  );
  const traffic = startTraffic({
    httpPort: p.httpOut,
    tcpPort: p.tcpOut,
    workers: 2,
    maxMs: durationMs,
    pauseMs: 10,
  });
  const started = Date.now();
  const samples: Sample[] = [];
  while (Date.now() - started < durationMs) {
    await new Promise((r) => setTimeout(r, SAMPLE_MS));
    const entries = Object.entries(pids);
    const sample: Sample = {
      at: Date.now() - started,
      rss: Object.fromEntries(entries.map(([k, pid]) => [k, rssKiB(pid)])),
      fds: Object.fromEntries(entries.map(([k, pid]) => [k, fdCount(pid)])),
    };
    if (sample.at >= warmupMs) samples.push(sample);
    console.log(
      `  t=${Math.round(sample.at / 1000)}s ok=${traffic.stats.ok} failed=${traffic.stats.failed} rotations=${rotations(web)}/${rotations(orders)} ` +
        `rss(MiB) ca=${(sample.rss['ca']! / 1024).toFixed(0)} orders=${(sample.rss['orders']! / 1024).toFixed(0)} web=${(sample.rss['web']! / 1024).toFixed(0)} ` +
        `fds ca=${sample.fds['ca']} orders=${sample.fds['orders']} web=${sample.fds['web']}`,
    );
  }
  const stats = await traffic.stop();
  const report = {
    durationSeconds: Math.round((Date.now() - started) / 1000),
    requests: stats.ok + stats.failed,
    failed: stats.failed,
    errors: stats.errors,
    rotations: { web: rotations(web), orders: rotations(orders) },
    rss: Object.fromEntries(Object.keys(pids).map((k) => [k, growth(samples, (s) => s.rss[k]!)])),
    fds: Object.fromEntries(Object.keys(pids).map((k) => [k, growth(samples, (s) => s.fds[k]!)])),
  };
  console.log(JSON.stringify(report, null, 2));
  await web.stop();
  await orders.stop();
  await app.close();
  echo.close();
  await mesh.stop();
  const problems: string[] = [];
  if (report.failed > 0) problems.push(`${report.failed} failed requests`);
  const fullRun = durationMs >= 600_000;
  if (fullRun && Math.min(report.rotations.web, report.rotations.orders) < 50)
    problems.push('fewer than 50 rotations in a 10-minute run');
  for (const [kind, series] of [
    ['RSS', report.rss],
    ['open fds', report.fds],
  ] as const)
    for (const [who, g] of Object.entries(series))
      if (g.pct > 10 && g.last - g.first > (kind === 'open fds' ? 2 : 0))
        problems.push(`${who} ${kind} grew ${g.pct.toFixed(1)} %`);
  console.log(problems.length ? `soak FAILED: ${problems.join('; ')}` : 'soak passed');
  process.exit(problems.length ? 1 : 0);
}

await main();
