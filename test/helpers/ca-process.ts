// Runs the real `tether` CLI and `tether ca serve` as child processes for integration tests:
// temp data dirs, free ports (127.0.0.1:0), captured JSON logs, clean shutdown.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLogLines, waitForLogLine } from './log-lines.js';
import { registerOutput } from './log-sink.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TETHER_BIN = path.join(REPO_ROOT, 'bin/tether.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tether <args>` to completion. */
export function tether(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TETHER_BIN, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        // stdout may hold a secret by design (`ca token create` prints the token once); stderr never.
        registerOutput(`tether ${args.slice(0, 3).join(' ')} (stderr)`, () => stderr);
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Like tether() but throws unless it exits 0; returns trimmed stdout. */
export async function tetherOk(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await tether(args, env);
  if (r.code !== 0) throw new Error(`tether ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout.trim();
}

export function tempDir(prefix = 'tether-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface CaProcess {
  readonly dataDir: string;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** The token endpoint's port when started with --token-listen, else null. */
  readonly tokenPort: number | null;
  readonly address: string;
  readonly bundlePem: string;
  /** Every stdout+stderr line so far. */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Record<string, unknown>[];
  /** The first log line matching `pred`, waiting up to `timeoutMs` for it to arrive. */
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly child: ChildProcess;
}

export interface StartCaOptions {
  dataDir: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  config?: string;
}

/** Writes `yaml` to a temp file and returns its path. */
export function writeConfig(dir: string, yaml: string): string {
  const file = path.join(dir, 'ca.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Starts `tether ca serve` on free ports and waits for its "CA serving" log line. */
export async function startCa(o: StartCaOptions): Promise<CaProcess> {
  const args = [
    TETHER_BIN,
    'ca',
    'serve',
    '--data-dir',
    o.dataDir,
    '--listen',
    '127.0.0.1:0',
    '--metrics-listen',
    '127.0.0.1:0',
  ];
  if (o.config) args.push('--config', o.config);
  args.push(...(o.args ?? []));
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = ''; // logs are parsed from stdout alone, so stderr never splits a line
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  registerOutput(`tether ca serve --data-dir ${o.dataDir}`, () => out);
  const parseLogs = () => parseLogLines(stdout);
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`CA did not start in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const line = parseLogs().find((l) => l['msg'] === 'CA serving');
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CA exited with ${code} before serving:\n${out}`));
    });
  });
  const bundlePem = `${await tetherOk(['ca', 'bundle', '--data-dir', o.dataDir])}\n`;
  const grpcPort = ready['grpcPort'] as number;
  return {
    dataDir: o.dataDir,
    grpcPort,
    metricsPort: ready['metricsPort'] as number,
    tokenPort: typeof ready['tokenPort'] === 'number' ? ready['tokenPort'] : null,
    address: `127.0.0.1:${grpcPort}`,
    bundlePem,
    output: () => out,
    logs: parseLogs,
    waitForLog: (pred, timeoutMs) => waitForLogLine(parseLogs, pred, timeoutMs),
    child,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** `tether ca init` into a fresh temp dir; returns the data dir. */
export async function initCa(
  trustDomain = 'example.org',
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<string> {
  const dir = path.join(tempDir(), 'ca');
  await tetherOk(['ca', 'init', '--data-dir', dir, '--trust-domain', trustDomain, ...extra], env);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
