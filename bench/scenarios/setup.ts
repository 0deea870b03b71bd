// The bench's mesh: a real CA, nginx as the HTTP backend, the nginx mTLS pair and a Tether
// sidecar pair (web: outbound http+tcp → orders: inbound http+tcp), all on loopback.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Mesh, sidecarYaml, startMesh } from '../../test/helpers/mesh.js';
import { freePort, type SidecarProcess, startSidecar } from '../../test/helpers/sidecar-process.js';
import { enrollWithToken } from '../../test/helpers/workload.js';
import {
  type Nginx,
  type PairFiles,
  startBackend,
  startNginxClient,
  startNginxServer,
} from '../lib/nginx.js';

export const WEB = 'spiffe://example.org/ns/shop/sa/web';
export const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

export interface Bench {
  readonly mesh: Mesh;
  readonly backend: Nginx;
  readonly backendPort: number;
  readonly nginxClient: Nginx;
  readonly nginxServer: Nginx;
  readonly nginxClientPort: number;
  readonly nginxServerPort: number;
  readonly web: SidecarProcess;
  readonly orders: SidecarProcess;
  readonly ports: { httpOut: number; tcpOut: number; httpIn: number; tcpIn: number };
  /** key.pem, cert.pem (chain), bundle.pem of a WEB certificate, for direct mTLS clients. */
  readonly webCertDir: string;
  stop(): Promise<void>;
}

async function enrollTo(mesh: Mesh, id: string, dir: string, dnsNames: string[] = []) {
  const token = readFileSync(await mesh.tokenFile(id), 'utf8');
  const w = await enrollWithToken(mesh.ca.address, mesh.ca.bundlePem, token, {
    csr: { uris: [id], dnsNames },
  });
  const files = {
    cert: path.join(dir, `${path.basename(id)}-cert.pem`),
    key: path.join(dir, `${path.basename(id)}-key.pem`),
  };
  writeFileSync(files.cert, w.chainPem);
  writeFileSync(files.key, w.keyPem, { mode: 0o600 });
  return files;
}

async function nginxPair(mesh: Mesh, backendPort: number, undo: Undo) {
  const dir = mesh.dir;
  const client = await enrollTo(mesh, WEB, dir);
  let server: { cert: string; key: string };
  let serverName: string | null = 'orders.bench.internal';
  try {
    server = await enrollTo(mesh, ORDERS, dir, [serverName]);
  } catch {
    serverName = null; // a CA that refuses DNS SANs: nginx cannot check a URI SAN, chain only
    server = await enrollTo(mesh, ORDERS, dir);
  }
  const files: PairFiles = {
    bundle: mesh.bundleFile,
    clientCert: client.cert,
    clientKey: client.key,
    serverCert: server.cert,
    serverKey: server.key,
    serverName,
  };
  const serverPort = await freePort();
  const clientPort = await freePort();
  const nginxServer = await startNginxServer(path.join(dir, 'nginx-server'), serverPort, backendPort, files);
  undo.push(() => nginxServer.stop());
  const nginxClient = await startNginxClient(path.join(dir, 'nginx-client'), clientPort, serverPort, files);
  undo.push(() => nginxClient.stop());
  const certDir = path.join(dir, 'web-certs');
  const { mkdirSync, copyFileSync } = await import('node:fs');
  mkdirSync(certDir);
  copyFileSync(client.cert, path.join(certDir, 'cert.pem'));
  copyFileSync(client.key, path.join(certDir, 'key.pem'));
  copyFileSync(mesh.bundleFile, path.join(certDir, 'bundle.pem'));
  return { nginxServer, nginxClient, serverPort, clientPort, certDir };
}

/** Starts a sidecar pair in front of `backendPort` on `mesh`. */
export async function startSidecarPair(
  mesh: Mesh,
  backendPort: number,
  ttl = '1h',
  env: NodeJS.ProcessEnv = {},
  undo: Undo = [],
) {
  const ports = { httpOut: 0, tcpOut: 0, httpIn: 0, tcpIn: 0 };
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  const orders = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(ORDERS),
      ttl,
      inbound: [
        `{ name: orders, listen: 127.0.0.1:${ports.httpIn}, forward: 127.0.0.1:${backendPort}, protocol: http, allow: [${WEB}] }`,
        `{ name: raw, listen: 127.0.0.1:${ports.tcpIn}, forward: 127.0.0.1:${backendPort}, protocol: tcp, allow: [${WEB}] }`,
      ],
    }),
    { env },
  );
  undo.push(() => orders.stop());
  const web = await startSidecar(
    sidecarYaml({
      caAddress: mesh.ca.address,
      bundleFile: mesh.bundleFile,
      tokenFile: await mesh.tokenFile(WEB),
      ttl,
      outbound: [
        `{ name: orders, listen: 127.0.0.1:${ports.httpOut}, upstream: 127.0.0.1:${ports.httpIn}, protocol: http, serverId: ${ORDERS} }`,
        `{ name: raw, listen: 127.0.0.1:${ports.tcpOut}, upstream: 127.0.0.1:${ports.tcpIn}, protocol: tcp, serverId: ${ORDERS} }`,
      ],
    }),
    { env },
  );
  undo.push(() => web.stop());
  return { web, orders, ports };
}

export async function startBench(caYaml = '', env: NodeJS.ProcessEnv = {}): Promise<Bench> {
  const mesh = await startMesh(caYaml);
  const undo: Undo = [() => mesh.stop()];
  try {
    const backendPort = await freePort();
    const backend = await startBackend(path.join(mesh.dir, 'backend'), backendPort);
    undo.push(() => backend.stop());
    const pair = await nginxPair(mesh, backendPort, undo);
    const sidecars = await startSidecarPair(mesh, backendPort, '1h', env, undo);
    return {
      mesh,
      backend,
      backendPort,
      nginxClient: pair.nginxClient,
      nginxServer: pair.nginxServer,
      nginxClientPort: pair.clientPort,
      nginxServerPort: pair.serverPort,
      ...sidecars,
      webCertDir: pair.certDir,
      stop: () => undoAll(undo),
    };
  } catch (err) {
    await undoAll(undo);
    throw err;
  }
}

/** Stops, newest first, what was started (so a failed start leaves no nginx or sidecar behind). */
export type Undo = (() => Promise<unknown>)[];
export async function undoAll(undo: Undo): Promise<void> {
  for (const u of undo.splice(0).reverse()) await u().catch(() => undefined);
}
