// Garbage and truncated frames to every listening port of a real CA and a real sidecar pair:
// gRPC, token endpoint, injection webhook, metrics, inbound mTLS (HTTP and TCP), outbound
// plaintext (HTTP and TCP) and admin. Every process stays up and keeps serving the others.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaProcess } from '../helpers/ca-process.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

let mesh: Mesh;
let ca: CaProcess;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;
const p = { httpIn: 0, tcpIn: 0, httpOut: 0, tcpOut: 0 };
let injectorPort: number | null = null;

/** A TLS ClientHello record header and the start of a ClientHello, cut short. */
const truncatedHello = Buffer.concat([
  Buffer.from('160301020001', 'hex'),
  Buffer.from('0001fc0303', 'hex'),
  randomBytes(20),
]);
/** An HTTP/2 preface followed by a frame header announcing far more than follows. */
const h2Garbage = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
  Buffer.from('ffffff01ff7fffffff', 'hex'),
  randomBytes(64),
]);
const PAYLOADS: Record<string, () => Buffer> = {
  'random bytes': () => randomBytes(1 + Math.floor(Math.random() * 4096)),
  'a truncated TLS ClientHello': () => truncatedHello,
  'an HTTP/2 preface with a broken frame': () => h2Garbage,
  'an HTTP request cut off mid-body': () =>
    Buffer.from('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\nabc'),
  'a TLS alert record': () => Buffer.from('15030300020228', 'hex'),
  nothing: () => Buffer.alloc(0),
};

/** Sends `data` on a fresh TCP connection, then closes after `holdMs` (or when the server does). */
function spray(port: number, data: Buffer, holdMs = 300): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(data));
    s.on('error', () => undefined);
    s.resume();
    const t = setTimeout(() => s.destroy(), holdMs);
    s.on('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** Garbage inside a TLS session that completed (ALPN h2 offered): HTTP/2 or raw bytes past the handshake. */
function sprayInsideTls(
  port: number,
  data: Buffer,
  id?: { keyPem: string; chainPem: string },
): Promise<void> {
  return new Promise((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      ca: mesh.ca.bundlePem,
      ALPNProtocols: ['h2', 'http/1.1'],
      checkServerIdentity: () => undefined,
      ...(id ? { key: id.keyPem, cert: id.chainPem } : {}),
    });
    s.on('secureConnect', () => s.end(data));
    s.on('error', () => undefined);
    s.resume();
    const t = setTimeout(() => s.destroy(), 500);
    s.on('close', () => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function stillServing(): Promise<void> {
  expect(ca.child.exitCode).toBeNull();
  expect(orders.child.exitCode).toBeNull();
  expect(web.child.exitCode).toBeNull();
  expect((await fetch(`http://127.0.0.1:${ca.metricsPort}/healthz`)).status).toBe(200);
  expect((await fetch(`http://127.0.0.1:${orders.adminPort}/readyz`)).status).toBe(200);
  const res = await fetch(`http://127.0.0.1:${p.httpOut}/after-garbage`);
  expect(res.status).toBe(200);
  const echoed = await new Promise<string>((resolve, reject) => {
    const s = net.connect(p.tcpOut, '127.0.0.1', () =>
      s.write('GET /tcp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  expect(echoed).toContain('HTTP/1.1 200');
}

/** The CA still issues (checked once at the end: a CLI run and an enrollment are slow). */
async function caStillIssues(): Promise<void> {
  const token = readFileSync(await mesh.tokenFile('spiffe://example.org/ns/shop/sa/probe'), 'utf8');
  const w = await enrollWithToken(ca.address, ca.bundlePem, token);
  expect(w.leaf.subjectAltName).toBe('URI:spiffe://example.org/ns/shop/sa/probe');
}

beforeAll(async () => {
  mesh = await startMesh('kubernetes:\n  injector:\n    listen: 127.0.0.1:0\n', [
    '--token-listen',
    '127.0.0.1:0',
  ]);
  ca = mesh.ca;
  injectorPort =
    (ca.logs().find((l) => l['msg'] === 'CA serving')?.['injectorPort'] as number | undefined) ?? null;
  app = await startEchoApp();
  p.httpIn = await freePort();
  p.tcpIn = await freePort();
  p.httpOut = await freePort();
  p.tcpOut = await freePort();
  orders = await startSidecar(
    sidecarYaml({
      caAddress: ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${p.httpIn}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}], handshakeTimeout: 2s }`,
        `{ name: raw, listen: 127.0.0.1:${p.tcpIn}, forward: 127.0.0.1:${app.port}, protocol: tcp, allow: [${WEB}], handshakeTimeout: 2s }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${p.httpOut}, upstream: 127.0.0.1:${p.httpIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: raw, listen: 127.0.0.1:${p.tcpOut}, upstream: 127.0.0.1:${p.tcpIn}, protocol: tcp, serverId: ${ORDERS} }`,
      ],
    }),
  );
});

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  await app?.close();
  await mesh?.stop();
});

describe('garbage on every listening port', () => {
  const ports = (): Record<string, number> => ({
    'CA gRPC': ca.grpcPort,
    'CA token endpoint': ca.tokenPort!,
    ...(injectorPort ? { 'CA injection webhook': injectorPort } : {}),
    'CA metrics': ca.metricsPort,
    'sidecar inbound HTTP (mTLS)': p.httpIn,
    'sidecar inbound TCP (mTLS)': p.tcpIn,
    'sidecar outbound HTTP (plaintext)': p.httpOut,
    'sidecar outbound TCP (plaintext)': p.tcpOut,
    'sidecar admin (inbound side)': orders.adminPort,
    'sidecar admin (outbound side)': web.adminPort,
  });

  it('the injection webhook is running in this CA (so it is covered below)', () => {
    expect(injectorPort).toBeGreaterThan(0);
  });

  it.each(Object.keys(PAYLOADS))(
    '%s, 10 connections per port at once, leaves everything serving',
    async (name) => {
      const make = PAYLOADS[name]!;
      await Promise.all(
        Object.values(ports()).flatMap((port) => Array.from({ length: 10 }, () => spray(port, make()))),
      );
      await stillServing();
    },
  );

  it('HTTP/2 garbage inside a completed TLS session to the gRPC, token and webhook ports', async () => {
    const tlsPorts = [ca.grpcPort, ca.tokenPort!, ...(injectorPort ? [injectorPort] : [])];
    await Promise.all(
      tlsPorts.flatMap((port) => [sprayInsideTls(port, h2Garbage), sprayInsideTls(port, randomBytes(2048))]),
    );
    await stillServing();
  });

  it('garbage after an admitted mTLS handshake on the inbound listeners', async () => {
    const me = await enrollWithToken(
      ca.address,
      ca.bundlePem,
      readFileSync(await mesh.tokenFile(WEB), 'utf8'),
    );
    await Promise.all(
      [p.httpIn, p.tcpIn].flatMap((port) => [
        sprayInsideTls(port, h2Garbage, me),
        sprayInsideTls(port, randomBytes(4096), me),
      ]),
    );
    await stillServing();
    await caStillIssues();
  });
});
