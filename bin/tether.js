#!/usr/bin/env node
// The one `tether` command: dispatches to the CA, the sidecar and the demo.
const [group, ...rest] = process.argv.slice(2);
const usage = 'usage: tether <ca|sidecar|demo> …   (tether ca --help for the CA commands)';

async function main() {
  switch (group) {
    case 'ca': {
      const { runCaCli } = await import('../dist/ca/admin/cli.js');
      return runCaCli(rest);
    }
    case 'sidecar': {
      const { runSidecarCli } = await import('../dist/sidecar/cli.js');
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
