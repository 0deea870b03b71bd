// Child processes of the demo: started with the same `tether` binary, their JSON logs captured,
// and all of them stopped together (SIGTERM, then SIGKILL) so no orphan outlives the demo.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../common/package-root.js';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the first log line whose msg is `msg`; rejects if the child exits first. */
  waitFor(msg: string, timeoutMs: number): Promise<Record<string, unknown>>;
  output(): string;
}

export class ProcessGroup {
  private readonly children: Child[] = [];

  start(name: string, args: string[]): Child {
    const child = spawn(process.execPath, [path.join(packageRoot(), 'bin/tether.js'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const lines = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    const handle: Child = {
      name,
      process: child,
      output: () => out,
      waitFor: (msg, timeoutMs) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${name} did not report "${msg}" within ${timeoutMs} ms`)),
            timeoutMs,
          );
          const check = () => {
            const hit = lines().find((l) => l['msg'] === msg);
            if (hit) {
              clearTimeout(timer);
              child.stdout!.off('data', check);
              resolve(hit);
            }
          };
          child.stdout!.on('data', check);
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(
              new Error(`${name} exited with code ${code}:\n${out.trim().split('\n').slice(-5).join('\n')}`),
            );
          });
          check();
        }),
    };
    this.children.push(handle);
    return handle;
  }

  /** SIGTERM to every child, SIGKILL to any still running after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.process.exitCode !== null || c.process.signalCode !== null) return resolve();
            const kill = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
            c.process.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.process.kill('SIGTERM');
          }),
      ),
    );
  }
}
