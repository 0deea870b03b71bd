// The sidecar bundle (scripts/bundle-sidecar.mjs) is what `bin/tether.js sidecar` runs: it is as
// new as tsc's output after `npm run build`, so the sidecar integration tests exercise it, and it
// loads on its own and validates config through the bundled zod schemas.
import { execFile } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/ca-process.js';

const BUNDLE = path.join(REPO_ROOT, 'dist/bundle/sidecar.mjs');

function runBundle(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `const { runSidecarCli } = await import(${JSON.stringify(BUNDLE)}); process.exitCode = await runSidecarCli(${JSON.stringify(argv)});`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('sidecar bundle', () => {
  it('is at least as new as the unbundled dist, so bin/tether.js runs the bundle', () => {
    const bundle = statSync(BUNDLE).mtimeMs;
    expect(bundle).toBeGreaterThanOrEqual(statSync(path.join(REPO_ROOT, 'dist/sidecar/cli.js')).mtimeMs);
  });

  it('prints the usage and refuses a bad config with exit 2, naming the key', async () => {
    const help = await runBundle(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tether sidecar run --config FILE');
    const file = path.join(tempDir(), 'bad.yaml');
    writeFileSync(file, 'trustDomain: example.org\nadmin: 127.0.0.1:0\ncolour: blue\n');
    const bad = await runBundle(['run', '--config', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('colour');
    expect(bad.stderr).toContain('ERR_CONFIG_INVALID');
  });
});
