// deploy/compose: the compose file is valid for Debian's docker-compose (1.29), and the same
// topology — the same commands, healthchecks and committed sidecar config files — works when run
// as plain processes on 127.0.0.1 (there is no Docker engine on our machines).
//
// How a service is turned into a process (the only changes made to what the compose file says):
//  1. argv = the service's `entrypoint` (else the Dockerfile's ENTRYPOINT) + its `command`; the
//     executable `node` is this Node (process.execPath), and `node` is first on PATH for scripts.
//  2. Network namespaces: a service with `network_mode: service:X` shares X's namespace; every
//     other service has its own. Inside service S, `127.0.0.1`, `0.0.0.0` and `localhost` mean S's
//     namespace and a service name X means X's namespace. Every `HOST:PORT` with such a HOST (in
//     argv, healthcheck commands and string values of mounted YAML files) becomes `127.0.0.1:P`,
//     where P is a free port unique to (namespace, PORT). A published `127.0.0.1:H:C` on S is
//     reached at P(namespace of S, C).
//  3. Paths: `/app` (the image's WORKDIR, holding the built package) is the repository root; a
//     named volume mounted at /target is a temp dir per volume (shared by every service mounting
//     it); a bind mount `./dir:/target` is a per-service temp copy of the committed dir in which
//     every YAML file has rules 2 and 3 applied to its string values (nothing else changes:
//     comments, keys and all other values stay as committed).
//  4. Order: services start in depends_on order, honouring each condition: completed_successfully
//     (exit 0), service_healthy (the healthcheck command exits 0), service_started.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseDurationMs } from '../../common/duration.js';
import { REPO_ROOT, removeDir, tempDir } from '../helpers/ca-process.js';

const COMPOSE_DIR = path.join(REPO_ROOT, 'deploy/compose');
const COMPOSE_FILE = path.join(COMPOSE_DIR, 'docker-compose.yml');
const DOCKERFILE = path.join(COMPOSE_DIR, 'Dockerfile');
const WEB_ID = 'spiffe://example.org/ns/shop/sa/web';

interface Healthcheck {
  test: string[] | string;
  timeout?: string;
}
interface Service {
  entrypoint?: string[] | string;
  command?: string[] | string;
  volumes?: string[];
  ports?: string[];
  network_mode?: string;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: Healthcheck;
}
interface ComposeFile {
  version: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = YAML.parse(readFileSync(COMPOSE_FILE, 'utf8')) as ComposeFile;
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

describe('deploy/compose/docker-compose.yml', () => {
  it('is valid for docker-compose config (Debian package docker-compose)', () => {
    const r = spawnSync('docker-compose', ['-f', COMPOSE_FILE, 'config', '-q'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'docker-compose is not installed: install the Debian package `docker-compose` ' +
          '(apt-get install docker-compose) to validate deploy/compose/docker-compose.yml',
      );
    }
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('publishes only web (8080) and the CA metrics/status port (9090), on 127.0.0.1 only', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => `${name} ${p}`),
    );
    expect(published.sort()).toEqual(['ca 127.0.0.1:9090:9090', 'web-sidecar 127.0.0.1:8080:8080']);
    // Apps share their sidecar's network; the healthchecks probe /readyz.
    expect(compose.services['web']?.network_mode).toBe('service:web-sidecar');
    expect(compose.services['orders']?.network_mode).toBe('service:orders-sidecar');
    for (const name of ['ca', 'orders-sidecar', 'web-sidecar']) {
      expect(JSON.stringify(compose.services[name]?.healthcheck?.test)).toContain('/readyz');
    }
  });

  it('builds the image from a multi-stage Dockerfile running as a non-root user', () => {
    const df = readFileSync(DOCKERFILE, 'utf8');
    expect(df.match(/^FROM node:20-bookworm-slim/gm)).toHaveLength(2);
    expect(df).toMatch(/npm ci/);
    expect(df).toMatch(/npm run build/);
    expect(df).toMatch(/npm prune --omit=dev/);
    const user = /^USER (\S+)/m.exec(df)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(entrypointOf(df)).toEqual(['node', '/app/bin/tether.js']);
    const ignored = readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['node_modules', 'dist', '.git', '.tether-demo', 'test-output']) {
      expect(ignored).toContain(p);
    }
  });

  it('runs the same topology from the same config files as plain processes (ports remapped)', async () => {
    const topo = new Topology(compose);
    try {
      await topo.allocatePorts();
      for (const name of topo.order()) await topo.startService(name);
      // Everything the processes were told to talk to is on 127.0.0.1.
      const said = [
        ...topo.order().map((n) => topo.argv(n).join(' ')),
        ...topo.rewrittenFiles.map((f) => YAML.stringify(YAML.parse(readFileSync(f, 'utf8')))),
      ].join('\n');
      expect([...new Set(topo.rewrittenFiles.map((f) => path.basename(f)))].sort()).toEqual([
        'orders.yaml',
        'web.yaml',
      ]);
      for (const m of said.matchAll(/(?<![\w.-])([A-Za-z0-9.-]+):(\d{2,5})(?!\d)/g)) {
        expect(m[0]).toMatch(/^127\.0\.0\.1:/);
      }

      // The request a user makes: curl http://127.0.0.1:8080/ → web → (mTLS) → orders.
      const webPort = topo.published('web-sidecar', 8080);
      const body = await retryFetchJson(`http://127.0.0.1:${webPort}/`, 20_000);
      expect(body.status, JSON.stringify(body.json)).toBe(200);
      const answer = body.json as { service: string; orders: { service: string; caller: string } };
      expect(answer.service).toBe('web');
      expect(answer.orders.service).toBe('orders');
      expect(answer.orders.caller).toBe(WEB_ID);

      // Every healthcheck, run as the container would run it, reports healthy.
      for (const name of ['ca', 'orders-sidecar', 'web-sidecar']) {
        expect(await topo.healthy(name), `${name} healthcheck`).toBe(true);
      }
      // The published CA metrics port answers too.
      const caReady = await fetch(`http://127.0.0.1:${topo.published('ca', 9090)}/readyz`, {
        signal: AbortSignal.timeout(5000),
      });
      expect(caReady.status).toBe(200);

      // Secrets in the shared volume are owner-only; the bundle is readable.
      const shared = topo.volumeDir('shared');
      expect(statSync(path.join(shared, 'web.token')).mode & 0o777).toBe(0o600);
      expect(statSync(path.join(shared, 'orders.token')).mode & 0o777).toBe(0o600);
      const bundle = readFileSync(path.join(shared, 'bundle.pem'), 'utf8');
      expect(bundle).toContain('BEGIN CERTIFICATE');

      // `up` again: ca-init keeps the existing CA (same bundle) and issues fresh tokens.
      const oldToken = readFileSync(path.join(shared, 'web.token'), 'utf8');
      const rerun = topo.spawnService('ca-init', 'ca-init (again)');
      expect(await rerun.exited, rerun.output()).toBe(0);
      expect(readFileSync(path.join(shared, 'bundle.pem'), 'utf8')).toBe(bundle);
      expect(readFileSync(path.join(shared, 'web.token'), 'utf8')).not.toBe(oldToken);
    } finally {
      await topo.stopAll();
    }
    // No process outlives the test, and the healthchecks now report unhealthy (they really probe).
    for (const p of topo.procs) expect(alive(p.child.pid), `${p.name} still running`).toBe(false);
    expect(processesMentioning(topo.root)).toBe(0);
    expect(await topo.healthy('ca')).toBe(false);
    expect(await topo.healthy('web-sidecar')).toBe(false);
  }, 90_000);
});

// ---------------------------------------------------------------------------------------------

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', '0.0.0.0', 'localhost']);

class Topology {
  readonly root: string;
  readonly procs: Proc[] = [];
  private readonly byService = new Map<string, Proc>();
  private readonly volumes = new Map<string, string>();
  private readonly mountCache = new Map<string, [string, string][]>();
  /** Every bind-mounted YAML file after rewriting (what the processes read). */
  readonly rewrittenFiles: string[] = [];
  private readonly ports = new Map<string, number>();
  private pool: number[] = [];
  private readonly imageEntrypoint: string[];

  constructor(private readonly file: ComposeFile) {
    this.root = tempDir('tether-compose-');
    dirs.push(this.root);
    this.imageEntrypoint = entrypointOf(readFileSync(DOCKERFILE, 'utf8'));
  }

  /** Reserves distinct free ports (held open together, so no two are the same). */
  async allocatePorts(n = 24): Promise<void> {
    const servers = await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<net.Server>((resolve, reject) => {
            const s = net.createServer().listen(0, '127.0.0.1', () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    this.pool = servers.map((s) => (s.address() as net.AddressInfo).port);
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }

  /** Services in an order where every dependency comes first. */
  order(): string[] {
    const out: string[] = [];
    const visit = (name: string, stack: string[]) => {
      if (out.includes(name)) return;
      if (stack.includes(name)) throw new Error(`depends_on cycle: ${[...stack, name].join(' → ')}`);
      for (const dep of Object.keys(this.deps(name))) visit(dep, [...stack, name]);
      out.push(name);
    };
    for (const name of Object.keys(this.file.services)) visit(name, []);
    return out;
  }

  private service(name: string): Service {
    const s = this.file.services[name];
    if (!s) throw new Error(`no service ${name}`);
    return s;
  }

  private deps(name: string): Record<string, string> {
    const d = this.service(name).depends_on ?? {};
    if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [n, 'service_started']));
    return Object.fromEntries(Object.entries(d).map(([n, c]) => [n, c.condition]));
  }

  /** The network namespace a service lives in (rule 2). */
  private netns(name: string): string {
    const mode = this.service(name).network_mode;
    return mode?.startsWith('service:') ? this.netns(mode.slice('service:'.length)) : name;
  }

  private port(netns: string, port: number): number {
    const key = `${netns}:${port}`;
    let p = this.ports.get(key);
    if (p === undefined) {
      p = this.pool.shift();
      if (p === undefined) throw new Error('out of reserved ports');
      this.ports.set(key, p);
    }
    return p;
  }

  /** Where the host reaches a port published by `service` (`127.0.0.1:H:C`, H given). */
  published(service: string, hostPort: number): number {
    for (const spec of this.service(service).ports ?? []) {
      const m = /^127\.0\.0\.1:(\d+):(\d+)$/.exec(spec);
      if (m && Number(m[1]) === hostPort) return this.port(this.netns(service), Number(m[2]));
    }
    throw new Error(`${service} does not publish 127.0.0.1:${hostPort}`);
  }

  volumeDir(name: string): string {
    let dir = this.volumes.get(name);
    if (!dir) {
      dir = path.join(this.root, 'volumes', name);
      mkdirSync(dir, { recursive: true });
      this.volumes.set(name, dir);
    }
    return dir;
  }

  /** Container path → host path for one service (rule 3), longest target first. */
  private mounts(name: string): [string, string][] {
    const cached = this.mountCache.get(name);
    if (cached) return cached;
    const out: [string, string][] = [['/app', REPO_ROOT]];
    const binds: string[] = [];
    for (const v of this.service(name).volumes ?? []) {
      const [src, target] = v.split(':') as [string, string];
      if (src.startsWith('.') || src.startsWith('/')) {
        const copy = path.join(this.root, 'binds', name, target);
        cpSync(path.resolve(COMPOSE_DIR, src), copy, { recursive: true });
        out.push([target, copy]);
        binds.push(copy);
      } else {
        out.push([target, this.volumeDir(src)]);
      }
    }
    out.sort((a, b) => b[0].length - a[0].length);
    this.mountCache.set(name, out);
    // Bind-mounted YAML files: string values rewritten, everything else as committed.
    for (const dir of binds) {
      for (const f of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
        const file = path.join(dir, f);
        const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
        YAML.visit(doc, {
          Scalar: (_key, node) => {
            if (typeof node.value === 'string') node.value = this.rewrite(name, node.value, out);
          },
        });
        writeFileSync(file, doc.toString());
        this.rewrittenFiles.push(file);
      }
    }
    return out;
  }

  /** Rules 2 and 3 applied to one string, as seen from inside `name`. */
  private rewrite(name: string, value: string, mounts: [string, string][]): string {
    const hosts = [...LOCAL_HOSTS, ...Object.keys(this.file.services)].map(escapeRe).join('|');
    let v = value.replace(new RegExp(`(?<![\\w.-])(${hosts}):(\\d{1,5})(?!\\d)`, 'g'), (_, host, port) => {
      const ns = LOCAL_HOSTS.has(host) ? this.netns(name) : this.netns(host);
      return `127.0.0.1:${this.port(ns, Number(port))}`;
    });
    for (const [target, hostPath] of mounts) {
      v = v.replace(new RegExp(`(?<![\\w.-])${escapeRe(target)}(?=/|$|[\\s'"])`, 'g'), hostPath);
    }
    return v;
  }

  /** The process a service runs (rules 1–3). */
  argv(name: string): string[] {
    const s = this.service(name);
    const mounts = this.mounts(name);
    const list = (x: string[] | string | undefined) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
    const argv = [
      ...(s.entrypoint !== undefined ? list(s.entrypoint) : this.imageEntrypoint),
      ...list(s.command),
    ];
    return argv.map((a) => this.rewrite(name, a, mounts));
  }

  spawnService(name: string, label = name): Proc {
    const [cmd, ...args] = this.argv(name) as [string, ...string[]];
    const child = spawn(cmd === 'node' ? process.execPath : cmd, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.once('error', (err) => {
        out += `spawn error: ${err.message}\n`;
        resolve(-1);
      });
    });
    const proc: Proc = { name: label, child, exited, output: () => out };
    this.procs.push(proc);
    return proc;
  }

  async startService(name: string): Promise<void> {
    for (const [dep, condition] of Object.entries(this.deps(name))) {
      const p = this.byService.get(dep);
      if (!p) throw new Error(`${name} depends on ${dep}, which was not started`);
      if (condition === 'service_completed_successfully') {
        const code = await withTimeout(p.exited, 30_000, `${dep} did not complete`);
        if (code !== 0) throw new Error(`${dep} exited ${code}:\n${p.output()}`);
      } else if (condition === 'service_healthy') {
        const deadline = Date.now() + 30_000;
        while (!(await this.healthy(dep))) {
          if (p.child.exitCode !== null) throw new Error(`${dep} exited ${p.child.exitCode}:\n${p.output()}`);
          if (Date.now() > deadline) throw new Error(`${dep} not healthy in 30 s:\n${p.output()}`);
          await sleep(250);
        }
      } else if (condition !== 'service_started') {
        throw new Error(`unknown depends_on condition ${condition}`);
      }
    }
    this.byService.set(name, this.spawnService(name));
  }

  /** Runs the service's healthcheck command as the container would (rules 1–3); true on exit 0. */
  healthy(name: string): Promise<boolean> {
    const hc = this.service(name).healthcheck;
    if (!hc) throw new Error(`${name} has no healthcheck`);
    const test = Array.isArray(hc.test) ? hc.test : ['CMD-SHELL', hc.test];
    const mounts = this.mounts(name);
    const [kind, ...rest] = test.map((a) => this.rewrite(name, a, mounts)) as [string, ...string[]];
    const argv = kind === 'CMD-SHELL' ? ['/bin/sh', '-c', rest.join(' ')] : rest;
    const [cmd, ...args] = argv as [string, ...string[]];
    return new Promise((resolve) => {
      execFile(
        cmd === 'node' ? process.execPath : cmd,
        args,
        { timeout: hc.timeout ? parseDurationMs(hc.timeout) : 30_000, cwd: REPO_ROOT },
        (err) => resolve(!err),
      );
    });
  }

  /** SIGTERM to everything still running, SIGKILL after 5 s. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.procs.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        const kill = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        p.child.kill('SIGTERM');
        await p.exited;
        clearTimeout(kill);
      }),
    );
  }
}

function entrypointOf(dockerfile: string): string[] {
  const lines = [...dockerfile.matchAll(/^ENTRYPOINT (\[.*\])\s*$/gm)];
  const last = lines.at(-1)?.[1];
  if (!last) throw new Error('the Dockerfile has no exec-form ENTRYPOINT');
  return JSON.parse(last) as string[];
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}

async function retryFetchJson(url: string, ms: number): Promise<{ status: number; json: unknown }> {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      const json = (await res.json()) as unknown;
      if (res.status === 200) return { status: res.status, json };
      last = `${res.status} ${JSON.stringify(json)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(250);
  }
  throw new Error(`no 200 from ${url} within ${ms} ms; last: ${last}`);
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function processesMentioning(text: string): number {
  const r = spawnSync('pgrep', ['-f', text], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean).length : 0;
}
