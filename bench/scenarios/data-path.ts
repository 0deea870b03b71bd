// Scenarios 2–5 on one mesh: HTTP keep-alive and TCP mode through the sidecar pair vs straight
// to the backend and vs the nginx pair (req/s, latency, MB/s, CPU per request), added latency at
// a fixed 1,000 req/s, new mTLS handshakes/s into an inbound listener, and sidecar RSS.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../test/helpers/sidecar-process.js';
import { BENCH_DIR, childrenOf, cpuMs, median, rssMb, runLoad, sleep } from '../lib/procs.js';
import { fmt, type Row } from '../lib/report.js';
import { type WrkResult, wrk } from '../lib/wrk.js';
import type { Bench } from './setup.js';

export interface Timing {
  readonly wrkSeconds: number;
  readonly pacedSeconds: number;
  readonly handshakeSeconds: number;
  readonly holdConnections: number;
  /** Also measure added latency at 100 req/s (below saturation). */
  readonly lightLoad: boolean;
}

interface Measured extends WrkResult {
  /** CPU ms per request of the proxy processes (both hops). */
  readonly cpuUsPerRequest: number;
}

async function measure(url: string, seconds: number, pids: () => number[]): Promise<Measured> {
  await wrk(url, 1, 16); // warm-up: connections, JIT, pools
  const before = cpuMs(pids());
  const r = await wrk(url, seconds, 16);
  const used = cpuMs(pids()) - before;
  return { ...r, cpuUsPerRequest: r.requests ? Math.round((used * 1000) / r.requests) : Number.NaN };
}

const describe = (r: WrkResult) =>
  `${fmt(r.rps)} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.mbPerSec} MB/s${r.errors ? `, ${r.errors} errors` : ''}`;

export async function dataPath(b: Bench, t: Timing, details: Record<string, unknown>): Promise<Row[]> {
  const rows: Row[] = [];

  const idle = { web: rssMb(b.web.child.pid!), orders: rssMb(b.orders.child.pid!) };
  details['rssIdleMb'] = idle;
  const bare = await startBarePair(b);
  try {
    rows.push(...(await throughput(b, t, details, bare)));
    rows.push(...(await latency(b, t, details)));
    rows.push(await handshakes(b, t, details));
    rows.push(await pairConnections(b, t, details));
    rows.push(...(await memory(b, t, idle, details, bare)));
  } finally {
    bare.stop();
  }
  return rows;
}

/** (2), (3) and CPU per request: wrk through direct, the nginx pair, Tether's two modes and the bare pair. */
async function throughput(
  b: Bench,
  t: Timing,
  details: Record<string, unknown>,
  bare: BarePair,
): Promise<Row[]> {
  const rows: Row[] = [];
  const nginxPids = () => [
    b.nginxClient.pid,
    ...childrenOf(b.nginxClient.pid),
    b.nginxServer.pid,
    ...childrenOf(b.nginxServer.pid),
  ];
  const tetherPids = () => [b.web.child.pid!, b.orders.child.pid!];
  const none = () => [];

  const results: Record<string, Measured> = {};
  for (const size of ['1k', '64k']) {
    const label = size === '1k' ? '1 KiB' : '64 KiB';
    const direct = await measure(`http://127.0.0.1:${b.backendPort}/${size}`, t.wrkSeconds, none);
    const nginx = await measure(`http://127.0.0.1:${b.nginxClientPort}/${size}`, t.wrkSeconds, nginxPids);
    const httpMode = await measure(`http://127.0.0.1:${b.ports.httpOut}/${size}`, t.wrkSeconds, tetherPids);
    const tcpMode = await measure(`http://127.0.0.1:${b.ports.tcpOut}/${size}`, t.wrkSeconds, tetherPids);
    const bareMode = await measure(`http://127.0.0.1:${bare.port}/${size}`, t.wrkSeconds, bare.pids);
    Object.assign(results, {
      [`direct-${size}`]: direct,
      [`nginx-${size}`]: nginx,
      [`http-${size}`]: httpMode,
      [`tcp-${size}`]: tcpMode,
      [`bare-${size}`]: bareMode,
    });
    rows.push({
      scenario: `(2) HTTP mode, keep-alive, ${label}`,
      tether: `${describe(httpMode)}; ${(httpMode.rps / direct.rps).toFixed(2)}× direct (${fmt(direct.rps)} req/s)`,
      baseline: `nginx pair ${describe(nginx)}`,
      ratio: httpMode.rps / nginx.rps,
      target: '≥ 0.6× nginx',
      pass: httpMode.rps / nginx.rps >= 0.6 && httpMode.errors === 0,
    });
    rows.push({
      scenario: `(3) TCP mode, keep-alive HTTP, ${label}`,
      tether: `${describe(tcpMode)}; ${(tcpMode.rps / direct.rps).toFixed(2)}× direct`,
      baseline: `nginx pair ${fmt(nginx.rps)} req/s`,
      ratio: tcpMode.rps / nginx.rps,
      target: '≥ 0.8× nginx',
      pass: tcpMode.rps / nginx.rps >= 0.8 && tcpMode.errors === 0,
    });
    rows.push({
      scenario: `Floor: bare Node pair (node:net/tls + pipe, no libraries), keep-alive HTTP, ${label}`,
      tether: `${describe(bareMode)}; Tether TCP mode = ${(tcpMode.rps / bareMode.rps).toFixed(2)}× this`,
      baseline: `nginx pair ${fmt(nginx.rps)} req/s`,
      ratio: bareMode.rps / nginx.rps,
      target: '— (informational)',
      pass: null,
    });
  }
  details['wrk'] = results;
  const cpuRow = (mode: 'tcp' | 'http', target: boolean): Row => {
    const mine = results[`${mode}-1k`]!.cpuUsPerRequest;
    const theirs = results['nginx-1k']!.cpuUsPerRequest;
    return {
      scenario: `Pair CPU per request, ${mode.toUpperCase()} mode, 1 KiB`,
      tether: `${mine} µs`,
      baseline: `nginx pair ${theirs} µs`,
      ratio: mine / theirs,
      target: target ? '≤ 1.5× nginx' : '— (informational)',
      pass: target ? mine / theirs <= 1.5 : null,
    };
  };
  rows.push(cpuRow('tcp', true), cpuRow('http', false));
  const bareCpu = results['bare-1k']!.cpuUsPerRequest;
  const nginxCpu = results['nginx-1k']!.cpuUsPerRequest;
  rows.push({
    scenario: 'Floor: bare Node pair CPU per request, 1 KiB',
    tether: `${bareCpu} µs`,
    baseline: `nginx pair ${nginxCpu} µs`,
    ratio: bareCpu / nginxCpu,
    target: '— (informational)',
    pass: null,
  });
  return rows;
}

async function latency(b: Bench, t: Timing, details: Record<string, unknown>): Promise<Row[]> {
  type Paced = { ok: number; failed: number; p50Ms: number; p99Ms: number };
  const paced = (port: number) =>
    runLoad<Paced>('client.ts', ['paced', String(port), '/1k', '1000', String(t.pacedSeconds)], 60_000);
  const direct = await paced(b.backendPort);
  const nginx = await paced(b.nginxClientPort);
  const httpMode = await paced(b.ports.httpOut);
  const tcpMode = await paced(b.ports.tcpOut);
  details['paced1000'] = { direct, nginx, http: httpMode, tcp: tcpMode };
  const added = (r: Paced) => +(r.p50Ms - direct.p50Ms).toFixed(3);
  const row = (name: string, r: Paced): Row => ({
    scenario: `Added p50 at 1,000 req/s, ${name} mode (1 KiB)`,
    tether: `+${added(r)} ms (p50 ${r.p50Ms}, p99 ${r.p99Ms} ms${r.failed ? `, ${r.failed} failed` : ''})`,
    baseline: `direct p50 ${direct.p50Ms} ms; nginx pair +${added(nginx)} ms`,
    ratio: null,
    target: '< 1 ms',
    pass: added(r) < 1 && r.failed === 0,
  });
  if (!t.lightLoad) return [row('HTTP', httpMode), row('TCP', tcpMode)];
  const light = async (port: number) =>
    runLoad<Paced>('client.ts', ['paced', String(port), '/1k', '100', String(t.pacedSeconds)], 60_000);
  const lightDirect = await light(b.backendPort);
  const lightNginx = await light(b.nginxClientPort);
  const lightHttp = await light(b.ports.httpOut);
  const lightTcp = await light(b.ports.tcpOut);
  details['paced100'] = { direct: lightDirect, nginx: lightNginx, http: lightHttp, tcp: lightTcp };
  const plus = (r: Paced) => +(r.p50Ms - lightDirect.p50Ms).toFixed(3);
  return [
    row('HTTP', httpMode),
    row('TCP', tcpMode),
    {
      scenario: 'Added p50 at 100 req/s (below saturation), HTTP / TCP mode',
      tether: `HTTP +${plus(lightHttp)} ms, TCP +${plus(lightTcp)} ms`,
      baseline: `direct p50 ${lightDirect.p50Ms} ms; nginx pair +${plus(lightNginx)} ms`,
      ratio: null,
      target: '— (informational)',
      pass: null,
    },
  ];
}

async function handshakes(b: Bench, t: Timing, details: Record<string, unknown>): Promise<Row> {
  type Hs = { ok: number; failed: number; perSecond: number; errors: string[] };
  const run = (port: number) =>
    runLoad<Hs>(
      'client.ts',
      ['handshake', String(port), String(t.handshakeSeconds), '8', b.webCertDir],
      60_000,
    );
  const before = { nginx: cpuMs([b.nginxServer.pid, ...childrenOf(b.nginxServer.pid)]) };
  const nginx = await run(b.nginxServerPort);
  const nginxCpu = cpuMs([b.nginxServer.pid, ...childrenOf(b.nginxServer.pid)]) - before.nginx;
  const ordersBefore = cpuMs([b.orders.child.pid!]);
  const tether = await run(b.ports.tcpIn);
  const ordersCpu = cpuMs([b.orders.child.pid!]) - ordersBefore;
  details['handshakes'] = {
    nginx: { ...nginx, serverCpuUsEach: Math.round((nginxCpu * 1000) / Math.max(1, nginx.ok)) },
    tether: { ...tether, serverCpuUsEach: Math.round((ordersCpu * 1000) / Math.max(1, tether.ok)) },
  };
  return {
    scenario: '(4) New mTLS handshakes/s into an inbound listener (GET /1k per connection)',
    tether: `${fmt(tether.perSecond)}/s (${Math.round((ordersCpu * 1000) / Math.max(1, tether.ok))} µs server CPU each${tether.failed ? `, ${tether.failed} failed` : ''})`,
    baseline: `nginx ${fmt(nginx.perSecond)}/s (${Math.round((nginxCpu * 1000) / Math.max(1, nginx.ok))} µs each)`,
    ratio: tether.perSecond / nginx.perSecond,
    target: '≥ 0.8× nginx',
    pass: tether.perSecond / nginx.perSecond >= 0.8 && tether.failed === 0,
  };
}

/** New plaintext connections per second through each pair (one mTLS connection between the hops each). */
async function pairConnections(b: Bench, t: Timing, details: Record<string, unknown>): Promise<Row> {
  type Hs = { ok: number; failed: number; perSecond: number; errors: string[] };
  const run = (port: number) =>
    runLoad<Hs>('client.ts', ['connect', String(port), String(t.handshakeSeconds), '8'], 60_000);
  const nginx = await run(b.nginxClientPort);
  const tether = await run(b.ports.tcpOut);
  details['pairConnections'] = { nginx, tether };
  return {
    scenario:
      '(4) New connections/s through the pair, TCP mode (GET /1k per connection; both resume TLS sessions)',
    tether: `${fmt(tether.perSecond)}/s${tether.failed ? ` (${tether.failed} failed: ${tether.errors.join('; ')})` : ''}`,
    baseline: `nginx pair ${fmt(nginx.perSecond)}/s`,
    ratio: tether.perSecond / nginx.perSecond,
    target: '— (informational)',
    pass: null,
  };
}

/** Opens `count` connections to `port` (plaintext into a pair) and samples `pids`' RSS while held. */
async function holdAndSample(
  port: number,
  count: number,
  pids: { a: number; b: number },
): Promise<{ open: number; a: number; b: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(BENCH_DIR, 'load', 'client.ts'), 'hold', String(port), String(count), '60'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!out.includes('"open"') && child.exitCode === null && Date.now() < deadline) await sleep(100);
  const open = Number(/"open":(\d+)/.exec(out)?.[1] ?? 0);
  await sleep(1000);
  const samples: { a: number; b: number }[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push({ a: rssMb(pids.a), b: rssMb(pids.b) });
    await sleep(300);
  }
  child.kill('SIGTERM');
  await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
  return { open, a: median(samples.map((x) => x.a)), b: median(samples.map((x) => x.b)) };
}

interface BarePair {
  readonly port: number;
  readonly idleMb: number;
  pids(): number[];
  stop(): void;
}

/**
 * A bare Node pair (bench/lib/bare-pair.mjs: node:net, node:tls and pipe, no libraries) with the
 * same certificates and backend: the floor any Node sidecar starts from. Idle RSS read at start.
 */
async function startBarePair(b: Bench): Promise<BarePair> {
  const [inPort, outPort] = [await freePort(), await freePort()];
  const script = path.join(BENCH_DIR, 'lib', 'bare-pair.mjs');
  const children: ReturnType<typeof spawn>[] = [];
  const start = (args: string[]) => {
    const c = spawn(process.execPath, [script, ...args, b.webCertDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(c);
    return new Promise<number>((resolve, reject) => {
      c.stdout!.once('data', () => resolve(c.pid!));
      c.once('exit', (code) => reject(new Error(`bare pair exited with ${code}`)));
    });
  };
  const stop = () => {
    for (const c of children) c.kill();
  };
  try {
    const pids = [await start(['in', String(inPort), String(b.backendPort)])];
    pids.push(await start(['out', String(outPort), String(inPort)]));
    await sleep(1500);
    return { port: outPort, idleMb: Math.max(...pids.map(rssMb)), pids: () => pids, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** Holds `count` connections through the TCP pair (web: 2 sockets each, orders: 2 each). */
async function memory(
  b: Bench,
  t: Timing,
  idle: { web: number; orders: number },
  details: Record<string, unknown>,
  barePair: BarePair,
): Promise<Row[]> {
  const held = await holdAndSample(b.ports.tcpOut, t.holdConnections, {
    a: b.web.child.pid!,
    b: b.orders.child.pid!,
  });
  const open = held.open;
  const loaded = { web: held.a, orders: held.b };
  details['rssLoadedMb'] = { open, ...loaded };
  const [inPid, outPid] = barePair.pids() as [number, number];
  const bareHeld = await holdAndSample(barePair.port, t.holdConnections, { a: inPid, b: outPid });
  const bare = { idle: barePair.idleMb, loaded: Math.max(bareHeld.a, bareHeld.b), open: bareHeld.open };
  details['rssBarePairMb'] = bare;
  const idleMax = Math.max(idle.web, idle.orders);
  const loadedMax = Math.max(loaded.web, loaded.orders);
  return [
    {
      scenario: '(5) Sidecar RSS, idle after start',
      tether: `${idleMax} MB (web ${idle.web}, orders ${idle.orders})`,
      baseline: `bare Node pair (net/tls/pipe, no libraries) ${bare.idle} MB`,
      ratio: null,
      target: '< 60 MB',
      pass: idleMax < 60,
    },
    {
      scenario: `(5) Sidecar RSS with ${fmt(open)} open connections (TCP pair)`,
      tether: `${loadedMax} MB (web ${loaded.web}, orders ${loaded.orders})`,
      baseline: `bare Node pair ${bare.loaded} MB with ${fmt(bare.open)} connections`,
      ratio: null,
      target: '< 100 MB',
      pass: loadedMax < 100 && open >= t.holdConnections,
    },
  ];
}
