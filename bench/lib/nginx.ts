// Debian's nginx as the bench's backend and baseline: an HTTP backend serving fixed bodies, and
// the nginx mTLS pair (a client-side `stream` proxy originating mTLS with a mesh certificate, a
// server-side `stream` proxy terminating it with ssl_verify_client on). Each instance runs from
// its own prefix in a temp dir, one worker, in the foreground, killed by its own pid. Under root
// the worker stays root: it must read files in the harness's private temp dir.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { sleep } from './procs.js';

export const NGINX = '/usr/sbin/nginx';
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

export interface Nginx {
  readonly pid: number;
  stop(): Promise<void>;
}

async function waitListening(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`nginx not listening on ${port} in 10 s: ${log()}`);
}

async function startNginx(dir: string, body: string, port: number): Promise<Nginx> {
  mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `load_module ${STREAM_MODULE};
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 4096; }
${body}
`,
  );
  const child = spawn(NGINX, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitListening(port, child, () => err);
  return {
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function nginxAvailable(): boolean {
  return existsSync(NGINX) && existsSync(STREAM_MODULE);
}

/** Plain HTTP/1.1 backend: GET /1k and /64k return that many bytes, keep-alive without limit. */
export function startBackend(dir: string, port: number): Promise<Nginx> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, '64k.bin'), Buffer.alloc(65536, 'y'));
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((t) => `${t}_temp_path ${dir}/${t};`)
    .join(' ');
  return startNginx(
    dir,
    `http {
  access_log off; ${temp}
  keepalive_requests 100000000; keepalive_timeout 120s;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location = /1k { default_type application/octet-stream; return 200 '${'x'.repeat(1024)}'; }
    location = /64k { default_type application/octet-stream; alias ${dir}/64k.bin; }
    location / { default_type text/plain; return 200 'ok'; }
  }
}`,
    port,
  );
}

export interface PairFiles {
  readonly bundle: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** A DNS name in the server certificate, checked by the client side; null: name not checked. */
  readonly serverName: string | null;
}

/** Server side: terminates mTLS (TLS 1.3, client certificate required and verified) to `forward`. */
export function startNginxServer(dir: string, port: number, forward: number, f: PairFiles): Promise<Nginx> {
  return startNginx(
    dir,
    `stream {
  server {
    listen 127.0.0.1:${port} ssl reuseport backlog=4096;
    ssl_protocols TLSv1.3;
    ssl_certificate ${f.serverCert}; ssl_certificate_key ${f.serverKey};
    ssl_client_certificate ${f.bundle}; ssl_verify_client on; ssl_verify_depth 4;
    proxy_pass 127.0.0.1:${forward};
  }
}`,
    port,
  );
}

/** Client side: accepts plaintext, originates mTLS with the mesh certificate, verifies the server. */
export function startNginxClient(dir: string, port: number, upstream: number, f: PairFiles): Promise<Nginx> {
  const name = f.serverName
    ? `proxy_ssl_verify on; proxy_ssl_name ${f.serverName};`
    : 'proxy_ssl_verify off;';
  return startNginx(
    dir,
    `stream {
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    proxy_ssl on; proxy_ssl_protocols TLSv1.3;
    proxy_ssl_certificate ${f.clientCert}; proxy_ssl_certificate_key ${f.clientKey};
    proxy_ssl_trusted_certificate ${f.bundle}; proxy_ssl_verify_depth 4; ${name}
    proxy_pass 127.0.0.1:${upstream};
  }
}`,
    port,
  );
}
