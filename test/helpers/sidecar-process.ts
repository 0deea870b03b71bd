// Runs `tether sidecar run` as a child process for integration tests, with its config written
// to a temp dir, and waits until it reports ready (or fails).
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pickPort } from '../../common/free-port.js';
import { TETHER_BIN, tempDir } from './ca-process.js';
import { parseLogLines, waitForLogLine } from './log-lines.js';
import { registerOutput } from './log-sink.js';

export interface SidecarProcess {
  readonly dir: string;
  readonly adminPort: number;
  readonly ports: Record<string, number>;
  readonly child: ChildProcess;
  output(): string;
  logs(): Record<string, unknown>[];
  /** The first log line matching `pred`, waiting up to `timeoutMs` for it to arrive. */
  waitForLog(
    pred: (l: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  certs(): Promise<{
    ready: boolean;
    spiffeId: string;
    serial: string;
    notAfter: string;
    bundleSequence: number;
    bundleRoots: number;
  }>;
  metrics(): Promise<string>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** A port that was free a moment ago, outside the kernel's ephemeral range (see common/free-port.ts). */
export function freePort(): Promise<number> {
  return pickPort();
}

/** Writes `yaml` as the sidecar config and starts it; resolves at its "sidecar ready" line. */
export async function startSidecar(
  yaml: string,
  o: { waitReady?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<SidecarProcess> {
  const dir = tempDir('tether-sidecar-');
  const config = path.join(dir, 'sidecar.yaml');
  writeFileSync(config, yaml);
  const child = spawn(process.execPath, [TETHER_BIN, 'sidecar', 'run', '--config', config], {
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
  registerOutput(`tether sidecar run --config ${config}`, () => out);
  const logs = () => parseLogLines(stdout);
  const wanted = o.waitReady === false ? 'sidecar admin listening' : 'sidecar ready';
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar not ready in 20 s:\n${out}`)), 20_000);
    const check = () => {
      const hit = logs().find((l) => l['msg'] === wanted);
      if (hit) {
        clearTimeout(timer);
        resolve(hit);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code}:\n${out}`));
    });
  });
  const adminPort = line['adminPort'] as number;
  const admin = (p: string) => fetch(`http://127.0.0.1:${adminPort}${p}`);
  return {
    dir,
    adminPort,
    ports: (line['ports'] as Record<string, number>) ?? {},
    child,
    output: () => out,
    logs,
    waitForLog: (pred, timeoutMs) => waitForLogLine(logs, pred, timeoutMs),
    certs: async () => (await (await admin('/certs')).json()) as Awaited<ReturnType<SidecarProcess['certs']>>,
    metrics: async () => (await admin('/metrics')).text(),
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
