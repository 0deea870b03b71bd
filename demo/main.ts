// `tether demo` (= `npm start`): a whole local mesh on loopback in one command — the CA, two
// workloads (`web` calls `orders`), each behind its own sidecar — then one request through the
// whole path and a transcript a newcomer can follow. Ctrl-C stops every child; --once exits
// after one round trip (0 on success, 1 with the reason otherwise).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { initCa } from '../ca/admin/init.js';
import { openStore } from '../ca/admin/open.js';
import { bundlePem } from '../ca/admin/report.js';
import { tokenCreate } from '../ca/admin/tokens.js';
import { dataDirPaths } from '../ca/authority/data-dir.js';
import { pickPort } from '../common/free-port.js';
import { type DemoApp, startOrdersApp, startWebApp } from './apps.js';
import { ProcessGroup } from './processes.js';
import { printTranscript, type RoundTrip } from './transcript.js';

const TD = 'example.org';
export const WEB_ID = `spiffe://${TD}/ns/demo/sa/web`;
export const ORDERS_ID = `spiffe://${TD}/ns/demo/sa/orders`;

export interface DemoOptions {
  readonly dataDir: string;
  readonly once: boolean;
  readonly print: (text: string) => void;
}

async function prepareCa(dataDir: string): Promise<string> {
  const caDir = path.join(dataDir, 'ca');
  if (!existsSync(dataDirPaths(caDir).dbFile)) {
    await initCa({
      dataDir: caDir,
      trustDomain: TD,
      keyType: 'ecdsa-p256',
      rootTtlSeconds: 3650 * 86400,
      intermediateTtlSeconds: 7 * 86400,
      passphrase: null,
    });
  }
  return caDir;
}

async function writeTokensAndBundle(
  caDir: string,
  dataDir: string,
): Promise<{ bundle: string; web: string; orders: string }> {
  const store = openStore(caDir);
  try {
    const files = {
      bundle: path.join(dataDir, 'bundle.pem'),
      web: path.join(dataDir, 'web.token'),
      orders: path.join(dataDir, 'orders.token'),
    };
    writeFileSync(files.bundle, await bundlePem(store));
    for (const [name, id] of [
      ['web', WEB_ID],
      ['orders', ORDERS_ID],
    ] as const) {
      const token = await tokenCreate(store, { spiffeId: id, ttlSeconds: 600, uses: 1, dnsNames: [] });
      writeFileSync(files[name], token, { mode: 0o600 });
    }
    return files;
  } finally {
    await store.close();
  }
}

/** The CA's config for the demo: its token policy lets web read orders, and nothing else. */
function writeCaConfig(dataDir: string, caDir: string): string {
  const file = path.join(dataDir, 'ca.yaml');
  writeFileSync(
    file,
    [
      `dataDir: ${caDir}`,
      'oauth:',
      '  policies:',
      `    - { clients: [${WEB_ID}], audience: orders, scopes: [read:orders] }`,
      '',
    ].join('\n'),
  );
  return file;
}

function sidecarConfig(o: {
  token: string;
  bundle: string;
  ca: number;
  admin: number;
  body: string;
  extra?: string;
}): string {
  return [
    `trustDomain: ${TD}`,
    `ca: { address: 127.0.0.1:${o.ca}, bundleFile: ${o.bundle}, joinTokenFile: ${o.token}, ttl: 1h }`,
    `admin: 127.0.0.1:${o.admin}`,
    'shutdownGrace: 2s',
    o.body,
    o.extra ?? '',
  ].join('\n');
}

async function roundTrip(webAppPort: number, webAdmin: number, ordersAdmin: number): Promise<RoundTrip> {
  const res = await fetch(`http://127.0.0.1:${webAppPort}/`, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as RoundTrip['response'];
  const web = (await (await fetch(`http://127.0.0.1:${webAdmin}/certs`)).json()) as RoundTrip['web'];
  const orders = (await (await fetch(`http://127.0.0.1:${ordersAdmin}/certs`)).json()) as RoundTrip['orders'];
  return { status: res.status, response: body, web, orders };
}

/** Runs the demo; resolves with the process exit code. */
export async function runDemo(o: DemoOptions): Promise<number> {
  const started = Date.now();
  const dataDir = path.resolve(o.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const group = new ProcessGroup();
  const apps: DemoApp[] = [];
  const ports = {
    ca: await pickPort(),
    caMetrics: await pickPort(),
    webAdmin: await pickPort(),
    ordersAdmin: await pickPort(),
    ordersIn: await pickPort(),
    webOut: await pickPort(),
    token: await pickPort(),
  };
  const stop = async () => {
    await group.stopAll();
    await Promise.all(apps.map((a) => a.close()));
  };
  try {
    const caDir = await prepareCa(dataDir);
    const ca = group.start('ca', [
      'ca',
      'serve',
      '--data-dir',
      caDir,
      '--listen',
      `127.0.0.1:${ports.ca}`,
      '--metrics-listen',
      `127.0.0.1:${ports.caMetrics}`,
      '--token-listen',
      `127.0.0.1:${ports.token}`,
      '--config',
      writeCaConfig(dataDir, caDir),
    ]);
    await ca.waitFor('CA serving', 15_000);
    const files = await writeTokensAndBundle(caDir, dataDir);
    const ordersApp = await startOrdersApp();
    const webApp = await startWebApp(() => ports.webOut);
    apps.push(ordersApp, webApp);
    const identityDir = path.join(dataDir, 'web-identity');
    writeFileSync(
      path.join(dataDir, 'orders.yaml'),
      sidecarConfig({
        token: files.orders,
        bundle: files.bundle,
        ca: ports.ca,
        admin: ports.ordersAdmin,
        body: `inbound:\n  - { name: orders, listen: 127.0.0.1:${ports.ordersIn}, forward: 127.0.0.1:${ordersApp.port}, protocol: http, allow: [${WEB_ID}], token: { issuer: "https://127.0.0.1:${ports.token}", audience: orders, scopes: [read:orders] } }`,
      }),
    );
    writeFileSync(
      path.join(dataDir, 'web.yaml'),
      sidecarConfig({
        token: files.web,
        bundle: files.bundle,
        ca: ports.ca,
        admin: ports.webAdmin,
        body: `outbound:\n  - { name: orders, listen: 127.0.0.1:${ports.webOut}, upstream: 127.0.0.1:${ports.ordersIn}, protocol: http, serverId: ${ORDERS_ID}, token: { issuer: "https://127.0.0.1:${ports.token}", audience: orders, scope: read:orders } }`,
        extra: `files: { dir: ${identityDir}, mode: "0600" }`,
      }),
    );
    const sidecars = [
      group.start('orders-sidecar', ['sidecar', 'run', '--config', path.join(dataDir, 'orders.yaml')]),
      group.start('web-sidecar', ['sidecar', 'run', '--config', path.join(dataDir, 'web.yaml')]),
    ];
    await Promise.all(sidecars.map((s) => s.waitFor('sidecar ready', 15_000)));
    const trip = await roundTrip(webApp.port, ports.webAdmin, ports.ordersAdmin);
    const ok = printTranscript(o.print, {
      trip,
      ports,
      webAppPort: webApp.port,
      dataDir,
      identityDir,
      readyMs: Date.now() - started,
    });
    if (o.once || !ok) {
      await stop();
      return ok ? 0 : 1;
    }
    o.print('\nThe mesh is running. Press Ctrl-C to stop it.\n');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    o.print('\nStopping the CA, both sidecars and both apps…\n');
    await stop();
    return 0;
  } catch (err) {
    o.print(`\ndemo failed: ${(err as Error).message}\n`);
    await stop();
    return 1;
  }
}
