// `tether demo` (npm start): a whole mesh from nothing, one round trip, a transcript, and a
// clean stop with no orphaned processes.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir, TETHER_BIN, tempDir, tether } from '../helpers/ca-process.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function scratch(): string {
  const d = tempDir('tether-demo-');
  dirs.push(d);
  return d;
}

function processesMentioning(text: string): number {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)
      .length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

describe('tether demo --once', () => {
  it('starts a CA and two sidecars, proves the caller identity end to end, and exits 0', async () => {
    const dir = path.join(scratch(), 'state');
    const started = Date.now();
    const r = await tether(['demo', '--once', '--data-dir', dir]);
    console.log(`demo --once took ${Date.now() - started} ms`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('spiffe://example.org/ns/demo/sa/web');
    expect(r.stdout).toContain('spiffe://example.org/ns/demo/sa/orders');
    expect(r.stdout).toMatch(/caller\s+spiffe:\/\/example\.org\/ns\/demo\/sa\/web ✓/);
    expect(r.stdout).toContain("✓ matches web's current certificate");
    expect(r.stdout).toContain("✓ bound to web's certificate (RFC 8705)");
    expect(r.stdout).toMatch(
      /sub spiffe:\/\/example\.org\/ns\/demo\/sa\/web {2}aud orders {2}scope read:orders/,
    );
    expect(r.stdout).toContain('REFUSED: no client certificate');
    expect(r.stdout).toContain('Round trip OK.');
    expect(processesMentioning(dir)).toBe(0);
    // A second run reuses the same CA (same data dir) and works again.
    const again = await tether(['demo', '--once', '--data-dir', dir]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  }, 60_000);

  it('exits 1 with the reason when it cannot start', async () => {
    const file = path.join(scratch(), 'not-a-dir');
    writeFileSync(file, 'x');
    const r = await tether(['demo', '--once', '--data-dir', file]);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/demo failed|EEXIST|ENOTDIR/);
  });
});

describe('tether demo (interactive)', () => {
  it('keeps the mesh up until Ctrl-C, then stops every child', async () => {
    const dir = path.join(scratch(), 'state');
    const child = spawn(process.execPath, [TETHER_BIN, 'demo', '--data-dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not running after 20 s:\n${out}`)), 20_000);
      child.stdout.on('data', () => {
        if (out.includes('The mesh is running')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const webPort = /curl -s http:\/\/127\.0\.0\.1:(\d+)\/ /.exec(out)?.[1];
    const res = await fetch(`http://127.0.0.1:${webPort}/`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { orders: { caller: string } }).orders.caller).toBe(
      'spiffe://example.org/ns/demo/sa/web',
    );
    expect(processesMentioning(dir)).toBeGreaterThanOrEqual(3);
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGINT');
    });
    expect(code).toBe(0);
    expect(processesMentioning(dir)).toBe(0);
  }, 60_000);
});
