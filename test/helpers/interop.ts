// Helpers for interop tests that drive third-party tools (curl, openssl s_client, nginx) against
// the sidecar: bounded child processes, identity files on disk, SPKI pins, Prometheus parsing,
// and an nginx that terminates mTLS with an identity from the real CA.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from './sidecar-process.js';
import type { Workload } from './workload.js';

export interface RunResult {
  /** Exit code; -1 when the process could not start, timed out or died by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export const describeRun = (r: RunResult): string =>
  `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

/** The environment for third-party tools: no proxy may divert traffic meant for 127.0.0.1. */
export function toolEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_PROXY: '*', no_proxy: '*' };
  for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'all_proxy']) {
    delete env[k];
  }
  delete env['CURL_HOME'];
  delete env['SSLKEYLOGFILE'];
  return env;
}

/** Runs `file args` to completion with `input` on stdin, killed after `timeoutMs`. */
export function run(
  file: string,
  args: string[],
  o: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: toolEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 20_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined); // the tool may exit before reading its input
    child.stdin.end(o.input ?? '');
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}\n${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({
        code: timedOut || code === null ? -1 : code,
        stdout,
        stderr: timedOut ? `${stderr}\n(timed out)` : stderr,
      });
    });
  });
}

export interface IdentityFiles {
  readonly dir: string;
  readonly key: string;
  /** Leaf followed by the intermediates (what curl --cert and nginx ssl_certificate take). */
  readonly chain: string;
  readonly leaf: string;
  /** Intermediates only (openssl s_client -cert_chain); null when the CA signs leaves directly. */
  readonly intermediates: string | null;
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** Writes a workload's key and certificates as PEM files under `dir` (key mode 0600). */
export function writeIdentity(dir: string, w: Workload): IdentityFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certs = splitPem(w.chainPem).map((c) => (c.endsWith('\n') ? c : `${c}\n`));
  const files = {
    dir,
    key: path.join(dir, 'key.pem'),
    chain: path.join(dir, 'chain.pem'),
    leaf: path.join(dir, 'leaf.pem'),
    intermediates: certs.length > 1 ? path.join(dir, 'intermediates.pem') : null,
  };
  writeFileSync(files.key, w.keyPem, { mode: 0o600 });
  writeFileSync(files.chain, certs.join(''));
  writeFileSync(files.leaf, certs[0]!);
  if (files.intermediates) writeFileSync(files.intermediates, certs.slice(1).join(''));
  return files;
}

/** Lowercase hex SHA-256 of a DER certificate (Envoy's XFCC Hash). */
export function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** curl's --pinnedpubkey form for a certificate's public key: `sha256//<base64 SPKI digest>`. */
export function spkiPin(cert: X509Certificate): string {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return `sha256//${createHash('sha256').update(spki).digest('base64')}`;
}

/** The certificates an `openssl s_client -showcerts` run printed, leaf first. */
export function certsFromSClient(stdout: string): X509Certificate[] {
  return splitPem(stdout).map((pem) => new X509Certificate(pem));
}

/** The URI SANs of a certificate. */
export function uriSans(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

/**
 * Sums a Prometheus counter's samples whose labels include every pair in `match`
 * (text exposition format, as prom-client writes it).
 */
export function metricSum(text: string, name: string, match: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!;
    }
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The label sets of a metric's samples (for messages and reason checks). */
export function metricSamples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`, or rejects after `timeoutMs`. */
export async function waitForPort(
  port: number,
  timeoutMs = 10_000,
  alive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.setTimeout(1_000, () => {
        s.destroy();
        resolve(false);
      });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (!alive()) throw new Error(`process died before listening on ${port}`);
    if (Date.now() > deadline)
      throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface NginxProcess {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  output(): string;
  errorLog(): string;
  /** Access log lines: `<request_uri> <status> <ssl_client_verify> <ssl_protocol>`. */
  accessLog(): string[];
  /** Graceful stop (SIGQUIT to the master), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

export const NGINX = '/usr/sbin/nginx';

/**
 * Runs nginx in the foreground with its prefix in `dir`: one HTTPS server on 127.0.0.1 that
 * presents `identity`, speaks TLS 1.3 only and requires a client certificate chaining to
 * `bundleFile`. Every response carries X-Client-Verify and X-Ssl-Protocol headers; the body is
 * the client certificate, URL-escaped PEM ($ssl_client_escaped_cert).
 */
export async function startNginx(
  dir: string,
  identity: IdentityFiles,
  bundleFile: string,
): Promise<NginxProcess> {
  const port = await freePort();
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const p = (f: string) => path.join(dir, f);
  const conf = `
worker_processes 1;
error_log ${p('error.log')} info;
events { worker_connections 64; }
http {
  log_format tether '$request_uri $status $ssl_client_verify $ssl_protocol';
  access_log ${p('access.log')} tether;
  client_body_temp_path ${p('tmp/body')};
  proxy_temp_path ${p('tmp/proxy')};
  fastcgi_temp_path ${p('tmp/fastcgi')};
  uwsgi_temp_path ${p('tmp/uwsgi')};
  scgi_temp_path ${p('tmp/scgi')};
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${identity.chain};
    ssl_certificate_key ${identity.key};
    ssl_protocols TLSv1.3;
    ssl_verify_client on;
    ssl_client_certificate ${bundleFile};
    ssl_verify_depth 4;
    location / {
      default_type text/plain;
      add_header X-Client-Verify $ssl_client_verify always;
      add_header X-Ssl-Protocol $ssl_protocol always;
      return 200 "$ssl_client_escaped_cert";
    }
  }
}
`;
  writeFileSync(p('nginx.conf'), conf);
  const child = spawn(
    NGINX,
    ['-p', dir, '-e', p('error.log'), '-c', p('nginx.conf'), '-g', `daemon off; pid ${p('nginx.pid')};`],
    { env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  const read = (f: string) => {
    try {
      return readFileSync(p(f), 'utf8');
    } catch {
      return '';
    }
  };
  try {
    await Promise.race([waitForPort(port, 10_000, () => child.exitCode === null), spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`nginx did not start: ${(err as Error).message}\n${out}\n${read('error.log')}`);
  }
  return {
    port,
    dir,
    child,
    output: () => out,
    errorLog: () => read('error.log'),
    accessLog: () =>
      read('access.log')
        .split('\n')
        .filter((l) => l.length > 0),
    stop: (timeoutMs = 10_000) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGQUIT');
      }),
  };
}
