// `tether sidecar run --config FILE`: parse flags, load config (errors name the key, exit 2
// before anything listens), run until SIGTERM/SIGINT, then drain and exit 0.
import { parseArgs } from 'node:util';
import { TetherError } from '../common/errors.js';
import { createLogger } from '../common/logging.js';
import { loadSidecarConfig } from './config/load.js';
import { runSidecar } from './main.js';

export const SIDECAR_USAGE = `usage: tether sidecar run --config FILE [--log-level LEVEL]

Runs the sidecar: obtains and renews the workload certificate from the CA, terminates inbound
mTLS and originates outbound mTLS as the config describes (see docs/config-sidecar.md).`;

export async function runSidecarCli(argv: string[]): Promise<number> {
  let values: { config?: string | undefined; 'log-level'?: string | undefined; help?: boolean | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`tether sidecar: ${(err as Error).message}\n\n${SIDECAR_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${SIDECAR_USAGE}\n`);
    return 0;
  }
  if (positionals[0] !== 'run' || !values.config) {
    process.stderr.write(`${SIDECAR_USAGE}\n`);
    return 2;
  }
  try {
    const config = loadSidecarConfig(values.config, { 'log.level': values['log-level'] });
    const log = createLogger({ level: config.logLevel, name: 'tether-sidecar' });
    const sidecar = await runSidecar(config, log);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        sidecar.close().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  } catch (err) {
    const e =
      err instanceof TetherError
        ? err
        : new TetherError('ERR_INTERNAL', (err as Error).message, { cause: err });
    process.stderr.write(`tether sidecar: ${e.message} [${e.code}]\n`);
    return e.code === 'ERR_CONFIG_INVALID' || e.code === 'ERR_USAGE' ? 2 : 1;
  }
}
