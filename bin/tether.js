#!/usr/bin/env node
// The one `tether` command: dispatches to the CA, the sidecar and the demo.
import { statSync } from 'node:fs';

const [group, ...rest] = process.argv.slice(2);
const usage = 'usage: tether <ca|sidecar|demo> …   (tether ca --help for the CA commands)';

/**
 * The sidecar runs from its esbuild bundle (scripts/bundle-sidecar.mjs: one file loads far faster
 * than ~1,000 modules), unless the bundle is missing or older than tsc's output (a bare `tsc` after
 * `npm run build`), where the unbundled dist/ is the truth.
 */
function sidecarEntry() {
  const bundle = new URL('../dist/bundle/sidecar.mjs', import.meta.url);
  const unbundled = new URL('../dist/sidecar/cli.js', import.meta.url);
  const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? Number.NaN;
  return mtime(bundle) >= mtime(unbundled) ? bundle.href : unbundled.href;
}

async function main() {
  switch (group) {
    case 'ca': {
      const { runCaCli } = await import('../dist/ca/admin/cli.js');
      return runCaCli(rest);
    }
    case 'sidecar': {
      const { runSidecarCli } = await import(sidecarEntry());
      return runSidecarCli(rest);
    }
    case 'demo': {
      const { runDemoCli } = await import('../dist/demo/cli.js');
      return runDemoCli(rest);
    }
    case '--help':
    case '-h':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`${usage}\n`);
      return 2;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`tether: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
