// Drives `openssl s_client` against a listener: writes `input` after the handshake (optionally in
// timed steps), collects everything it prints, and gives up after a bounded time.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './ca-process.js';
import type { PemIdentity } from './fixtures.js';

export interface SClientResult {
  readonly code: number | null;
  readonly out: string;
}

/** Writes a client identity to files: `-key`, `-cert` (the leaf) and `-cert_chain` (the rest plus `extraChainPem`). */
export function identityFiles(id: PemIdentity, extraChainPem = ''): string[] {
  const dir = tempDir('tether-sclient-');
  const [leaf, ...rest] = id.chainPem.split(/(?=-----BEGIN CERTIFICATE-----)/);
  const files = {
    key: path.join(dir, 'key.pem'),
    cert: path.join(dir, 'leaf.pem'),
    chain: path.join(dir, 'chain.pem'),
  };
  writeFileSync(files.key, id.keyPem, { mode: 0o600 });
  writeFileSync(files.cert, leaf ?? '');
  writeFileSync(files.chain, rest.join('') + extraChainPem);
  return ['-key', files.key, '-cert', files.cert, '-cert_chain', files.chain];
}

/** Runs s_client against 127.0.0.1:`port`; each step is written after `delayMs`. */
export function sClient(
  port: number,
  args: string[],
  steps: { delayMs: number; data: string }[] = [],
  timeoutMs = 8000,
): Promise<SClientResult> {
  return new Promise((resolve) => {
    const child = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.on('error', () => undefined);
    let at = 0;
    const timers = steps.map((s) => {
      at += s.delayMs;
      return setTimeout(() => child.stdin.writable && child.stdin.write(s.data), at);
    });
    const end = setTimeout(() => child.stdin.end(), at + 1500);
    const kill = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      for (const t of [...timers, end, kill]) clearTimeout(t);
      resolve({ code, out });
    });
  });
}
