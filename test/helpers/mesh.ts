// A small mesh for sidecar tests: one real CA, join tokens, and sidecar configs built from it.
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type CaProcess, initCa, removeDir, startCa, tempDir, tetherOk, writeConfig } from './ca-process.js';

export interface Mesh {
  readonly ca: CaProcess;
  readonly dataDir: string;
  readonly dir: string;
  readonly bundleFile: string;
  /** Creates a join token for `id` and returns the path of a file holding it. */
  tokenFile(id: string, uses?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a CA (optionally with a CA config YAML) and prepares a bundle file for sidecars. */
/** `initEnv` is the environment of `tether ca init` (e.g. libfaketime to create the CA in the past). */
export async function startMesh(
  caYaml = '',
  caArgs: string[] = [],
  initEnv: NodeJS.ProcessEnv = {},
): Promise<Mesh> {
  const dir = tempDir('tether-mesh-');
  const configFile = caYaml ? writeConfig(dir, caYaml) : undefined;
  const dataDir = await initCa('example.org', configFile ? ['--config', configFile] : [], initEnv);
  const ca = await startCa({ dataDir, args: caArgs, ...(configFile ? { config: configFile } : {}) });
  const bundleFile = path.join(dir, 'bundle.pem');
  writeFileSync(bundleFile, ca.bundlePem);
  let n = 0;
  return {
    ca,
    dataDir,
    dir,
    bundleFile,
    async tokenFile(id, uses = 1) {
      const token = await tetherOk([
        'ca',
        'token',
        'create',
        '--data-dir',
        dataDir,
        '--spiffe-id',
        id,
        '--uses',
        String(uses),
      ]);
      const file = path.join(dir, `token-${++n}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(file, token, { mode: 0o600 });
      return file;
    },
    async stop() {
      await ca.stop();
      removeDir(dir);
      removeDir(path.dirname(dataDir));
    },
  };
}

/** A tiny workload: answers JSON with the path and the XFCC header it received. */
export async function startEchoApp(): Promise<{
  port: number;
  close(): Promise<void>;
  seen: http.IncomingHttpHeaders[];
}> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          path: req.url,
          method: req.method,
          xfcc: req.headers['x-forwarded-client-cert'] ?? null,
          body,
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function sidecarYaml(o: {
  caAddress: string;
  bundleFile: string;
  tokenFile: string;
  ttl?: string;
  inbound?: string[];
  outbound?: string[];
  extra?: string;
}): string {
  const lines = [
    'trustDomain: example.org',
    `ca: { address: ${o.caAddress}, bundleFile: ${o.bundleFile}, joinTokenFile: ${o.tokenFile}, ttl: ${o.ttl ?? '1h'} }`,
    'admin: 127.0.0.1:0',
    'shutdownGrace: 5s',
  ];
  if (o.inbound?.length) lines.push('inbound:', ...o.inbound.map((l) => `  - ${l}`));
  if (o.outbound?.length) lines.push('outbound:', ...o.outbound.map((l) => `  - ${l}`));
  if (o.extra) lines.push(o.extra);
  return `${lines.join('\n')}\n`;
}
