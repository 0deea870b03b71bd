// End to end through real processes: client → outbound sidecar → mTLS → inbound sidecar → app,
// in HTTP and TCP modes, with the caller's identity delivered to the app in XFCC.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPem } from '../../common/pem.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let tcpEcho: net.Server;
let tcpEchoPort: number;
let orders: SidecarProcess;
let web: SidecarProcess;
let ports: { httpIn: number; tcpIn: number; httpOut: number; tcpOut: number };

beforeAll(async () => {
  mesh = await startMesh();
  app = await startEchoApp();
  tcpEcho = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => tcpEcho.listen(0, '127.0.0.1', () => r()));
  tcpEchoPort = (tcpEcho.address() as net.AddressInfo).port;
  ports = {
    httpIn: await freePort(),
    tcpIn: await freePort(),
    httpOut: await freePort(),
    tcpOut: await freePort(),
  };
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${ports.httpIn}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
        `{ name: echo, listen: 127.0.0.1:${ports.tcpIn}, forward: 127.0.0.1:${tcpEchoPort}, protocol: tcp, allow: ["spiffe://example.org/ns/shop/*"] }`,
      ],
    }),
  );
  const filesDir = path.join(mesh.dir, 'web-files');
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${ports.httpOut}, upstream: 127.0.0.1:${ports.httpIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: echo, listen: 127.0.0.1:${ports.tcpOut}, upstream: 127.0.0.1:${ports.tcpIn}, protocol: tcp, serverId: ${ORDERS} }`,
      ],
      extra: `files: { dir: ${filesDir}, mode: "0640" }`,
    }),
  );
});

afterAll(async () => {
  await web?.stop();
  await orders?.stop();
  await app?.close();
  tcpEcho?.close();
  await mesh?.stop();
});

describe('HTTP mode', () => {
  it('carries an HTTP/1.0 request without Host to an app that requires one', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = net.connect(ports.httpOut, '127.0.0.1', () => s.write('GET /old-client HTTP/1.0\r\n\r\n'));
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('end', () => resolve(text));
      s.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw).toContain('"path":"/old-client"');
  });

  it('carries a request through both sidecars and tells the app who called in XFCC', async () => {
    const res = await fetch(`http://127.0.0.1:${ports.httpOut}/orders/42?x=1`, {
      method: 'POST',
      body: 'hello',
      headers: {
        'x-forwarded-client-cert': 'By=spiffe://evil;URI=spiffe://example.org/ns/kube-system/sa/admin',
      },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { path: string; method: string; xfcc: string; body: string };
    expect(body).toMatchObject({ path: '/orders/42?x=1', method: 'POST', body: 'hello' });
    const webLeaf = fromPem(readFileSync(path.join(mesh.dir, 'web-files', 'cert.pem'), 'utf8'))[0]!;
    const hash = createHash('sha256').update(webLeaf).digest('hex');
    expect(body.xfcc).toBe(`By=${ORDERS};Hash=${hash};URI=${WEB}`);
    expect(app.seen.every((h) => !String(h['x-forwarded-client-cert']).includes('evil'))).toBe(true);
  });

  it('reuses the mTLS connection across requests (keep-alive)', async () => {
    const before = await orders.metrics();
    const count = (text: string) =>
      Number(
        /tether_sidecar_handshakes_total\{direction="inbound",listener="orders",result="ok",reason=""\} (\d+)/.exec(
          text,
        )?.[1] ?? 0,
      );
    for (let i = 0; i < 20; i++)
      expect((await fetch(`http://127.0.0.1:${ports.httpOut}/r${i}`)).status).toBe(200);
    expect(count(await orders.metrics()) - count(before)).toBeLessThanOrEqual(2);
  });

  it('reports readiness, identity and metrics on the admin listener', async () => {
    const certs = await web.certs();
    expect(certs).toMatchObject({ ready: true, spiffeId: WEB, bundleRoots: 1 });
    expect(certs.bundleSequence).toBeGreaterThanOrEqual(1);
    expect((await fetch(`http://127.0.0.1:${web.adminPort}/readyz`)).status).toBe(200);
    const metrics = await orders.metrics();
    expect(metrics).toMatch(
      /tether_sidecar_request_duration_seconds_count\{direction="inbound",listener="orders",status="2xx"\} [1-9]/,
    );
    expect(metrics).toMatch(/tether_sidecar_cert_expiry_timestamp_seconds \d{10}/);
  });

  it('counts HTTP connections and their bytes on both sides', async () => {
    const { default: http } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      // agent: false → the connection closes after the response, so its bytes are counted.
      http
        .get({ host: '127.0.0.1', port: ports.httpOut, path: '/bytes', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
    expect(status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    const webMetrics = await web.metrics();
    const rx = Number(
      /tether_sidecar_bytes_total\{direction="outbound",listener="orders",flow="rx"\} (\d+)/.exec(
        webMetrics,
      )?.[1],
    );
    const tx = Number(
      /tether_sidecar_bytes_total\{direction="outbound",listener="orders",flow="tx"\} (\d+)/.exec(
        webMetrics,
      )?.[1],
    );
    expect(rx).toBeGreaterThan(30);
    expect(tx).toBeGreaterThan(100);
    // The pooled mTLS connection into orders stays open: it shows as active on the inbound side.
    expect(await orders.metrics()).toMatch(
      /tether_sidecar_active_connections\{direction="inbound",listener="orders"\} [1-9]/,
    );
  });

  it('writes cert, key and bundle files with the configured modes (key always 0600)', () => {
    const dir = path.join(mesh.dir, 'web-files');
    expect(statSync(path.join(dir, 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'cert.pem')).mode & 0o777).toBe(0o640);
    expect(readFileSync(path.join(dir, 'bundle.pem'), 'utf8')).toBe(mesh.ca.bundlePem);
    expect(web.output()).not.toContain('PRIVATE KEY');
  });
});

describe('TCP mode', () => {
  it('pipes bytes both ways through both sidecars', async () => {
    const payload = Buffer.alloc(256 * 1024, 7);
    const echoed = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      const s = net.connect(ports.tcpOut, '127.0.0.1', () => s.write(payload));
      s.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (got >= payload.length) {
          s.end();
          resolve(Buffer.concat(chunks));
        }
      });
      s.on('error', reject);
      setTimeout(() => reject(new Error('timed out')), 10_000).unref();
    });
    expect(echoed.equals(payload)).toBe(true);
  });
});
