// `tether sidecar run --config FILE`: parse flags, load config (errors name the key, exit 2
// before anything listens), run until SIGTERM/SIGINT, then drain and exit 0.
// `tether sidecar status --admin ADDR`: a running sidecar's identity, expiry, listeners, counters.
import { parseArgs } from 'node:util';
import { TetherError } from '../common/errors.js';
import { createLogger } from '../common/logging.js';
import { fetchSidecarStatus, formatSidecarStatus } from './admin/status-report.js';
import { loadSidecarConfig } from './config/load.js';
import { runSidecar } from './main.js';

export const SIDECAR_USAGE = `usage: tether sidecar run --config FILE [--log-level LEVEL]
       tether sidecar status --admin HOST:PORT [--json]

run     Runs the sidecar: obtains and renews the workload certificate from the CA, terminates
        inbound mTLS and originates outbound mTLS as the config describes (see
        docs/config-sidecar.md).
status  Asks a running sidecar's admin listener (/certs and /metrics) for its identity, serial,
        expiry, readiness, trust bundle, listeners and handshake/connection/request counters.`;

const OPTIONS = {
  config: { type: 'string' },
  'log-level': { type: 'string' },
  admin: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function fail(err: unknown): number {
  const e =
    err instanceof TetherError
      ? err
      : new TetherError('ERR_INTERNAL', (err as Error).message, { cause: err });
  process.stderr.write(`tether sidecar: ${e.message} [${e.code}]\n`);
  return e.code === 'ERR_CONFIG_INVALID' || e.code === 'ERR_USAGE' ? 2 : 1;
}

async function run(config: string, logLevel: string | undefined): Promise<number> {
  const cfg = loadSidecarConfig(config, { 'log.level': logLevel });
  const log = createLogger({ level: cfg.logLevel, name: 'tether-sidecar' });
  const sidecar = await runSidecar(cfg, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      sidecar.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

async function status(admin: string, json: boolean): Promise<number> {
  let report: Awaited<ReturnType<typeof fetchSidecarStatus>>;
  try {
    report = await fetchSidecarStatus(admin);
  } catch (err) {
    process.stderr.write(
      `tether sidecar status: cannot read the admin listener at ${admin}: ${(err as Error).message}\n`,
    );
    return 1;
  }
  const out = json ? JSON.stringify(report, null, 2) : formatSidecarStatus(report, Date.now());
  process.stdout.write(`${out}\n`);
  return 0;
}

export async function runSidecarCli(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS }));
  } catch (err) {
    process.stderr.write(`tether sidecar: ${(err as Error).message}\n\n${SIDECAR_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${SIDECAR_USAGE}\n`);
    return 0;
  }
  if (positionals[0] === 'status' && values.admin) return status(values.admin, values.json ?? false);
  if (positionals[0] !== 'run' || !values.config) {
    process.stderr.write(`${SIDECAR_USAGE}\n`);
    return 2;
  }
  try {
    return await run(values.config, values['log-level']);
  } catch (err) {
    return fail(err);
  }
}
