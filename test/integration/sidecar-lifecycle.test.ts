// Starting and stopping the sidecar: config errors before anything listens, trust bootstrap by
// root fingerprint, not-ready while the CA is unreachable, graceful drain on SIGTERM.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPem } from '../../common/pem.js';
import { tempDir, tether } from '../helpers/ca-process.js';
import { type Mesh, sidecarYaml, startMesh } from '../helpers/mesh.js';
import { freePort, startSidecar } from '../helpers/sidecar-process.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';
let mesh: Mesh;

beforeAll(async () => {
  mesh = await startMesh();
});
afterAll(async () => {
  await mesh?.stop();
});

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('configuration errors', () => {
  it('names every bad key and exits 2 before listening', async () => {
    const admin = await freePort();
    const file = path.join(tempDir(), 'bad.yaml');
    writeFileSync(
      file,
      [
        'trustDomain: Example.ORG',
        'ca: { address: 127.0.0.1:1, bundleFile: b.pem, rootFingerprint: "sha256:00", ttl: forever }',
        `admin: 127.0.0.1:${admin}`,
        'inbound:',
        '  - { name: web, listen: 127.0.0.1:99999, forward: 127.0.0.1:8080, allow: [not-an-id], colour: blue }',
      ].join('\n'),
    );
    const r = await tether(['sidecar', 'run', '--config', file]);
    expect(r.code).toBe(2);
    for (const key of [
      'trustDomain',
      'ca.ttl',
      'ca.rootFingerprint',
      'inbound.0.listen',
      'inbound.0.allow.0',
      'colour',
    ]) {
      expect(r.stderr).toContain(key);
    }
    expect(await portOpen(admin)).toBe(false);
  });

  it('refuses a plaintext outbound listener on a non-loopback address', async () => {
    const file = path.join(tempDir(), 'open.yaml');
    writeFileSync(
      file,
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: '/nonexistent',
        outbound: [`{ name: o, listen: 0.0.0.0:15001, upstream: 127.0.0.1:1, serverId: ${ORDERS} }`],
      }),
    );
    const r = await tether(['sidecar', 'run', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('must be a loopback address');
  });
});

describe('trust bootstrap', () => {
  it('trusts the CA through a pinned root fingerprint instead of a bundle file', async () => {
    const root = fromPem(mesh.ca.bundlePem)[0]!;
    const fingerprint = `sha256:${createHash('sha256').update(root).digest('hex')}`;
    const token = await mesh.tokenFile(WEB);
    const yaml = `trustDomain: example.org\nca: { address: ${mesh.ca.address}, rootFingerprint: "${fingerprint}", joinTokenFile: ${token} }\nadmin: 127.0.0.1:0\n`;
    const sc = await startSidecar(yaml);
    try {
      expect(await sc.certs()).toMatchObject({ ready: true, spiffeId: WEB, bundleRoots: 1 });
    } finally {
      await sc.stop();
    }
  });

  it('never trusts a CA that does not chain to the pinned fingerprint', async () => {
    const token = await mesh.tokenFile(WEB);
    const yaml = `trustDomain: example.org\nca: { address: ${mesh.ca.address}, rootFingerprint: "sha256:${'ab'.repeat(32)}", joinTokenFile: ${token} }\nadmin: 127.0.0.1:0\n`;
    const file = path.join(tempDir(), 'pin.yaml');
    writeFileSync(file, yaml);
    const bad = await tether(['sidecar', 'run', '--config', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('does not chain to the pinned root');
  });
});

describe('readiness', () => {
  it('serves /healthz but answers 503 on /readyz while the CA is unreachable', async () => {
    const deadCa = await freePort();
    const yaml = sidecarYaml({
      caAddress: `127.0.0.1:${deadCa}`,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
    });
    const sc = await startSidecar(yaml, { waitReady: false });
    try {
      expect((await fetch(`http://127.0.0.1:${sc.adminPort}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${sc.adminPort}/readyz`)).status).toBe(503);
      expect(await sc.certs()).toMatchObject({ ready: false, spiffeId: null });
    } finally {
      await sc.stop();
    }
  });

  it('becomes ready quickly once the CA answers (cold start)', async () => {
    const started = Date.now();
    const sc = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(WEB),
      }),
    );
    const elapsed = Date.now() - started;
    try {
      expect((await fetch(`http://127.0.0.1:${sc.adminPort}/readyz`)).status).toBe(200);
      console.log(`sidecar cold start to ready: ${elapsed} ms (process spawn included)`);
    } finally {
      await sc.stop();
    }
  });
});

describe('connection limits', () => {
  it('closes connections that never finish the handshake and refuses connections over maxConnections', async () => {
    const inPort = await freePort();
    const sc = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(ORDERS),
        inbound: [
          `{ name: tight, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:1, protocol: tcp, allow: [${WEB}], handshakeTimeout: 1s, maxConnections: 2 }`,
        ],
      }),
    );
    try {
      /** A TCP connection that never starts TLS; resolves with how long until the server closed it. */
      const idle = () => {
        const started = Date.now();
        const socket = net.connect(inPort, '127.0.0.1');
        socket.on('error', () => undefined);
        const closedAfterMs = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
        return new Promise<{ closedAfterMs: Promise<number> }>((resolve) => {
          socket.once('connect', () => resolve({ closedAfterMs }));
          socket.once('close', () => resolve({ closedAfterMs }));
        });
      };
      const [a, b] = [await idle(), await idle()];
      const third = await idle(); // accepted by the kernel, dropped by the server at once
      expect(await third.closedAfterMs).toBeLessThan(800);
      const closedA = await a.closedAfterMs;
      expect(closedA).toBeGreaterThanOrEqual(900);
      expect(closedA).toBeLessThan(5000);
      await b.closedAfterMs;
      expect(await sc.metrics()).toMatch(
        /listener="tight",result="failed",reason="err_tls_handshake_timeout"\} 2/,
      );
    } finally {
      await sc.stop();
    }
  });
});

describe('shutdown', () => {
  it('drains an in-flight request on SIGTERM and exits 0', async () => {
    const slow = http.createServer((_req, res) => setTimeout(() => res.end('done'), 1500));
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const appPort = (slow.address() as net.AddressInfo).port;
    const [inPort, outPort] = [await freePort(), await freePort()];
    const orders = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(ORDERS),
        inbound: [
          `{ name: slow, listen: 127.0.0.1:${inPort}, forward: 127.0.0.1:${appPort}, allow: [${WEB}] }`,
        ],
      }),
    );
    const web = await startSidecar(
      sidecarYaml({
        caAddress: mesh.ca.address,
        bundleFile: mesh.bundleFile,
        tokenFile: await mesh.tokenFile(WEB),
        outbound: [
          `{ name: slow, listen: 127.0.0.1:${outPort}, upstream: 127.0.0.1:${inPort}, serverId: ${ORDERS} }`,
        ],
      }),
    );
    try {
      const inflight = fetch(`http://127.0.0.1:${outPort}/`).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
      await new Promise((r) => setTimeout(r, 300));
      const exit = orders.stop('SIGTERM');
      expect(await inflight).toEqual({ status: 200, body: 'done' });
      expect(await exit).toBe(0);
      expect(await portOpen(inPort)).toBe(false);
    } finally {
      await web.stop();
      await orders.stop();
      slow.close();
    }
  });
});

describe('listen failures', () => {
  it('exits 1 naming the listener when its address is taken, leaving nothing running', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const file = path.join(tempDir(), 'taken.yaml');
      writeFileSync(
        file,
        sidecarYaml({
          caAddress: mesh.ca.address,
          bundleFile: mesh.bundleFile,
          tokenFile: await mesh.tokenFile(ORDERS),
          inbound: [`{ name: busy, listen: 127.0.0.1:${port}, forward: 127.0.0.1:1, allow: [${WEB}] }`],
        }),
      );
      const r = await tether(['sidecar', 'run', '--config', file]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`inbound.busy cannot listen on 127.0.0.1:${port}: address already in use`);
      expect(r.stderr).toContain('ERR_LISTEN_FAILED');
    } finally {
      blocker.close();
    }
  });
});
