// HTTP misuse through a real sidecar pair (app → outbound HTTP proxy → mTLS → inbound → app):
// request smuggling, oversized headers and bodies, CR/LF injection, hop-by-hop headers and
// slowloris. Each is answered with a precise status or a closed connection, nothing smuggled
// reaches the workload, and the pair keeps serving.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const MAX_BODY = 65_536;

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;
let inPort = 0;
let outPort = 0;

/** Writes raw bytes to a port and collects the reply until the server closes or `waitMs` passes. */
function raw(
  port: number,
  data: string | Buffer,
  waitMs = 3000,
): Promise<{ reply: string; closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let reply = '';
    s.on('data', (d) => (reply += d.toString('latin1')));
    s.on('error', () => undefined);
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply, closed: false, ms: Date.now() - started });
    }, waitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, closed: true, ms: Date.now() - started });
    });
  });
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
const paths = () => app.seen.map((h) => h['x-test-path']).filter(Boolean);

beforeAll(async () => {
  mesh = await startMesh();
  app = await startEchoApp();
  inPort = await freePort();
  outPort = await freePort();
  const limits = `maxBodySize: ${MAX_BODY}, headerTimeout: 2s, requestTimeout: 5s`;
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}], handshakeTimeout: 2s, ${limits} }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${outPort}, upstream: 127.0.0.1:${inPort}, protocol: http, serverId: ${ORDERS}, ${limits} }`,
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

describe('request smuggling', () => {
  it.each([
    ['Content-Length with Transfer-Encoding', 'Content-Length: 4\r\nTransfer-Encoding: chunked'],
    ['two different Content-Lengths', 'Content-Length: 4\r\nContent-Length: 40'],
    ['an obfuscated Transfer-Encoding', 'Transfer-Encoding: xchunked\r\nContent-Length: 4'],
    ['Transfer-Encoding with a leading space name', 'Transfer-Encoding : chunked\r\nContent-Length: 4'],
  ])('%s is refused with 400 and nothing is smuggled', async (_name, framing) => {
    const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\nX-Test-Path: smuggled\r\n\r\n';
    const r = await raw(outPort, `POST / HTTP/1.1\r\nHost: x\r\n${framing}\r\n\r\n0\r\n\r\n${smuggled}`);
    expect(statusOf(r.reply)).toBe(400);
    expect(r.reply.match(/HTTP\/1\.1/g)).toHaveLength(1);
    expect(paths()).not.toContain('smuggled');
  });
});

describe('oversized input', () => {
  it('answers 431 to request headers over the limit', async () => {
    const r = await raw(outPort, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statusOf(r.reply)).toBe(431);
  });

  it('answers 413 to a declared body over maxBodySize without forwarding it', async () => {
    const before = app.seen.length;
    const res = await fetch(`http://127.0.0.1:${outPort}/big`, {
      method: 'POST',
      body: 'x'.repeat(MAX_BODY + 1),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('x-tether-reason')).toBe('body_too_large');
    expect(app.seen.length).toBe(before);
  });

  it('answers 413 to a chunked body that grows over maxBodySize', async () => {
    const chunk = 'y'.repeat(16_384);
    const chunks = Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const r = await raw(
      outPort,
      `POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
    );
    expect(statusOf(r.reply)).toBe(413);
  });

  it('forwards a body at exactly maxBodySize', async () => {
    const res = await fetch(`http://127.0.0.1:${outPort}/ok`, { method: 'POST', body: 'z'.repeat(MAX_BODY) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { body: string }).body).toHaveLength(MAX_BODY);
  });

  it('enforces maxBodySize on the inbound side too (a client that bypasses the outbound proxy)', async () => {
    const me = await enrollWithToken(
      mesh.ca.address,
      mesh.ca.bundlePem,
      readFileSync(await mesh.tokenFile(WEB), 'utf8'),
    );
    const reply = await new Promise<string>((resolve) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: inPort,
          ca: mesh.ca.bundlePem,
          key: me.keyPem,
          cert: me.chainPem,
          checkServerIdentity: () => undefined,
        },
        () =>
          s.write(
            `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${MAX_BODY + 10}\r\nConnection: close\r\n\r\n${'q'.repeat(MAX_BODY + 10)}`,
          ),
      );
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
    });
    expect(statusOf(reply)).toBe(413);
  });
});

describe('header injection and hop-by-hop headers', () => {
  it.each([
    ['a bare LF inside a header value', 'X-A: one\nX-Injected: two'],
    ['a bare CR inside a header value', 'X-A: one\rX-Injected: two'],
    ['an obs-fold continuation line', 'X-A: one\r\n X-Injected: two'],
    ['a NUL in a header value', 'X-A: one\u0000two'],
  ])('%s is refused with 400', async (_name, header) => {
    const r = await raw(outPort, `GET / HTTP/1.1\r\nHost: x\r\n${header}\r\nX-Test-Path: injected\r\n\r\n`);
    expect(statusOf(r.reply)).toBe(400);
    expect(app.seen.some((h) => 'x-injected' in h)).toBe(false);
  });

  it('a CR/LF in the request target (parsed as HTTP/0.9) is answered 505 and not forwarded', async () => {
    const r = await raw(outPort, 'GET /a\r\nX-Injected: 1 HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusOf(r.reply)).toBe(505);
    expect(app.seen.some((h) => 'x-injected' in h)).toBe(false);
  });

  it('hop-by-hop headers and the headers Connection names never reach the workload', async () => {
    const r = await raw(
      outPort,
      'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret-Hop\r\nX-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Test-Path: hop\r\nX-Forwarded-Client-Cert: By=spoofed\r\n\r\n',
    );
    expect(statusOf(r.reply)).toBe(200);
    const seen = app.seen.find((h) => h['x-test-path'] === 'hop')!;
    for (const h of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization'])
      expect(seen).not.toHaveProperty(h);
    expect(seen['x-forwarded-client-cert']).toMatch(
      new RegExp(`^By=${ORDERS};Hash=[0-9a-f]{64};URI=${WEB}$`),
    );
  });
});

describe('slowloris', () => {
  it('closes a plaintext client that never finishes its headers after headerTimeout', async () => {
    const r = await raw(outPort, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 10_000);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(8000);
  });

  it('closes an mTLS client that never finishes its headers after headerTimeout', async () => {
    const me = await enrollWithToken(
      mesh.ca.address,
      mesh.ca.bundlePem,
      readFileSync(await mesh.tokenFile(WEB), 'utf8'),
    );
    const { closed, ms } = await new Promise<{ closed: boolean; ms: number }>((resolve) => {
      const started = Date.now();
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: inPort,
          ca: mesh.ca.bundlePem,
          key: me.keyPem,
          cert: me.chainPem,
          checkServerIdentity: () => undefined,
        },
        () => s.write('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '),
      );
      s.on('error', () => undefined);
      const timer = setTimeout(() => {
        s.destroy();
        resolve({ closed: false, ms: Date.now() - started });
      }, 10_000);
      s.on('close', () => {
        clearTimeout(timer);
        resolve({ closed: true, ms: Date.now() - started });
      });
    });
    expect(closed).toBe(true);
    expect(ms).toBeLessThan(8000);
  });

  it('closes a TCP client that never starts the TLS handshake after handshakeTimeout', async () => {
    const r = await raw(inPort, '', 10_000);
    expect(r.closed).toBe(true);
    expect(r.ms).toBeLessThan(6000);
  });

  it('still serves a normal request through the pair afterwards', async () => {
    const res = await fetch(`http://127.0.0.1:${outPort}/after`);
    expect(res.status).toBe(200);
    expect(web.child.exitCode).toBeNull();
    expect(orders.child.exitCode).toBeNull();
  });
});
