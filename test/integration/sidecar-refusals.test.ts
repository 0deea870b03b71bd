// Every way a peer can be wrong, against real sidecar processes: each is refused, counted by
// reason, and the sidecars keep serving good traffic.
import https from 'node:https';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foreignLeaf, leafFromCa, type PemIdentity } from '../helpers/fixtures.js';
import { type Mesh, sidecarYaml, startEchoApp, startMesh } from '../helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../helpers/sidecar-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
const OTHER = 'spiffe://example.org/ns/other/sa/intruder';

let mesh: Mesh;
let app: Awaited<ReturnType<typeof startEchoApp>>;
let orders: SidecarProcess;
let web: SidecarProcess;
let p: { httpIn: number; tcpIn: number; goodOut: number; wrongOut: number; wrongTcpOut: number };

/** HTTPS request straight to an inbound listener with a client identity (or none). */
function call(
  port: number,
  id: PemIdentity | null,
  o: tls.ConnectionOptions = {},
): Promise<{ status: number; reason?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: mesh.ca.bundlePem,
        ...(id ? { key: id.keyPem, cert: id.chainPem } : {}),
        // The sidecar's certificate names a SPIFFE ID, not a host: check that instead.
        checkServerIdentity: (_h, cert) =>
          cert.subjectaltname === `URI:${ORDERS}` ? undefined : new Error('wrong server'),
        agent: false,
        ...o,
      },
      (res) => {
        res.resume();
        const reason = res.headers['x-tether-reason'];
        resolve({ status: res.statusCode ?? 0, ...(typeof reason === 'string' ? { reason } : {}) });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function handshakeCount(sidecar: SidecarProcess, reason: string): Promise<number> {
  const re = new RegExp(
    `tether_sidecar_handshakes_total\\{direction="inbound",listener="orders",result="refused",reason="${reason}"\\} (\\d+)`,
  );
  return Number(re.exec(await sidecar.metrics())?.[1] ?? 0);
}

beforeAll(async () => {
  mesh = await startMesh();
  app = await startEchoApp();
  p = {
    httpIn: await freePort(),
    tcpIn: await freePort(),
    goodOut: await freePort(),
    wrongOut: await freePort(),
    wrongTcpOut: await freePort(),
  };
  orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${p.httpIn}, forward: 127.0.0.1:${app.port}, protocol: http, allow: [${WEB}] }`,
        `{ name: raw, listen: 127.0.0.1:${p.tcpIn}, forward: 127.0.0.1:${app.port}, protocol: tcp, allow: [${WEB}] }`,
      ],
    }),
  );
  web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      outbound: [
        `{ name: good, listen: 127.0.0.1:${p.goodOut}, upstream: 127.0.0.1:${p.httpIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: wrong, listen: 127.0.0.1:${p.wrongOut}, upstream: 127.0.0.1:${p.httpIn}, protocol: http, serverId: spiffe://example.org/ns/shop/sa/payments }`,
        `{ name: wrongtcp, listen: 127.0.0.1:${p.wrongTcpOut}, upstream: 127.0.0.1:${p.tcpIn}, protocol: tcp, serverId: spiffe://example.org/ns/shop/sa/payments }`,
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

describe('inbound refuses', () => {
  it('a client without a certificate', async () => {
    const before = await handshakeCount(orders, 'no_client_certificate');
    await expect(call(p.httpIn, null)).rejects.toThrow();
    expect(await handshakeCount(orders, 'no_client_certificate')).toBe(before + 1);
  });

  it('a certificate from a foreign CA with the same SPIFFE ID', async () => {
    await expect(call(p.httpIn, foreignLeaf(WEB))).rejects.toThrow();
    expect(await orders.metrics()).toMatch(
      /result="refused",reason="(unable_to_get_issuer_cert_locally|unable_to_verify_leaf_signature|self_signed_cert_in_chain)"\} 1/,
    );
  });

  it('an expired certificate from the right CA', async () => {
    const expired = await leafFromCa(
      mesh.dataDir,
      WEB,
      new Date(Date.now() - 7200_000),
      new Date(Date.now() - 3600_000),
    );
    await expect(call(p.httpIn, expired)).rejects.toThrow();
    expect(await handshakeCount(orders, 'cert_has_expired')).toBe(1);
  });

  it('an allowed CA but a disallowed ID: HTTP 403 with the reason', async () => {
    const intruder = await enrollWithToken(mesh.ca.address, mesh.ca.bundlePem, await tokenFor(OTHER));
    const res = await call(p.httpIn, intruder);
    expect(res).toEqual({ status: 403, reason: 'spiffe_id_not_allowed' });
    const line = await orders.waitForLog((l) => l['msg'] === 'inbound peer not allowed');
    expect(line).toMatchObject({ peerId: OTHER, reason: 'spiffe_id_not_allowed', listener: 'orders' });
    expect(await orders.metrics()).toMatch(
      /tether_sidecar_authz_denied_total\{listener="orders",reason="spiffe_id_not_allowed"\} 1/,
    );
  });

  it('an allowed CA but a disallowed ID on a TCP listener: the connection is closed unread', async () => {
    const intruder = await enrollWithToken(mesh.ca.address, mesh.ca.bundlePem, await tokenFor(OTHER));
    const data = await new Promise<string>((resolve, reject) => {
      const s = tls.connect(
        {
          host: '127.0.0.1',
          port: p.tcpIn,
          ca: mesh.ca.bundlePem,
          key: intruder.keyPem,
          cert: intruder.chainPem,
          checkServerIdentity: () => undefined,
        },
        () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('close', () => resolve(got));
      s.on('error', () => resolve(got));
      setTimeout(() => reject(new Error('connection was not closed')), 5000).unref();
    });
    expect(data).toBe('');
  });

  it('TLS 1.2 when the listener requires 1.3', async () => {
    const me = await enrollWithToken(mesh.ca.address, mesh.ca.bundlePem, await tokenFor(WEB));
    await expect(call(p.httpIn, me, { maxVersion: 'TLSv1.2' })).rejects.toThrow(/version|protocol/i);
    expect(await orders.metrics()).toMatch(
      /direction="inbound",listener="orders",result="failed",reason="[a-z_]*(version|protocol)[a-z_]*"/,
    );
  });

  it('but admits the allowed identity over TLS 1.3', async () => {
    const me = await enrollWithToken(mesh.ca.address, mesh.ca.bundlePem, await tokenFor(WEB));
    expect(await call(p.httpIn, me)).toEqual({ status: 200 });
  });
});

describe('outbound refuses an upstream with the wrong SPIFFE ID', () => {
  it('answers 502 in HTTP mode and counts the failed handshake', async () => {
    const res = await fetch(`http://127.0.0.1:${p.wrongOut}/`);
    expect(res.status).toBe(502);
    expect(res.headers.get('x-tether-reason')).toBe('server_id_mismatch');
    expect(await res.text()).toContain('expected spiffe://example.org/ns/shop/sa/payments');
    expect(await web.metrics()).toMatch(
      /direction="outbound",listener="wrong",result="failed",reason="err_tether_wrong_server_id"\} [1-9]/,
    );
  });

  it('closes the client connection in TCP mode', async () => {
    const { default: net } = await import('node:net');
    const closed = await new Promise<boolean>((resolve) => {
      const s = net.connect(p.wrongTcpOut, '127.0.0.1');
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
      setTimeout(() => resolve(false), 5000).unref();
    });
    expect(closed).toBe(true);
    expect(await web.metrics()).toMatch(
      /direction="outbound",listener="wrongtcp",result="failed",reason="err_tether_wrong_server_id"/,
    );
  });

  it('still works with the right server ID after all of the above', async () => {
    expect((await fetch(`http://127.0.0.1:${p.goodOut}/`)).status).toBe(200);
  });
});

async function tokenFor(id: string): Promise<string> {
  const { readFileSync } = await import('node:fs');
  return readFileSync(await mesh.tokenFile(id), 'utf8');
}
