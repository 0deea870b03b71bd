// Child processes for the bench: spawning with captured output and a hard time limit, and the
// kernel's view of a process (CPU ticks and RSS from /proc) so costs are measured, not guessed.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Runs a command to completion (killed after `timeoutMs`); resolves with stdout, rejects on failure. */
export function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs one of bench/load/*.ts in its own Node process and parses the JSON line it prints. */
export function runLoad<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  return runLoadAt<T>(path.join(BENCH_DIR, 'load', script), args, timeoutMs);
}

/** A load process that can be asked to finish early (SIGTERM: it prints its counts and exits). */
export function startLoad<T>(
  script: string,
  args: string[],
  timeoutMs: number,
): { done: Promise<T>; finish(): void } {
  let child: ReturnType<typeof spawn> | undefined;
  const done = runLoadAt<T>(path.join(BENCH_DIR, 'load', script), args, timeoutMs, (c) => {
    child = c;
  });
  return { done, finish: () => child?.kill('SIGTERM') };
}

/** Runs a TypeScript file in its own Node process (via tsx) and parses the last JSON line it prints. */
export function runLoadAt<T>(
  file: string,
  args: string[],
  timeoutMs: number,
  onSpawn?: (child: ReturnType<typeof spawn>) => void,
): Promise<T> {
  const script = path.basename(file);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn?.(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as T);
      else reject(new Error(`load ${script} ${args.join(' ')} exited ${code}:\n${out}\n${err}`));
    });
  });
}

/** The direct children of `pid` (nginx workers), from /proc. */
export function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    return [];
  }
}

/** User+system CPU milliseconds consumed so far by the processes (children included via the list). */
/** utime and stime of a process so far, in clock ticks; zeros once it is gone. */
function cpuTicks(pid: number): { user: number; sys: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]), sys: Number(fields[12]) };
  } catch {
    return { user: 0, sys: 0 }; // process gone: it contributes nothing further
  }
}

export function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const t = cpuTicks(pid);
    ticks += t.user + t.sys;
  }
  return ticks * TICK_MS;
}

/** System (kernel) CPU of a process so far, in ms. */
export function sysCpuMs(pid: number): number {
  return cpuTicks(pid).sys * TICK_MS;
}

/** Resident set size in MB. */
export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return +(kb / 1024).toFixed(1);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}
