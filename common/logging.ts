// The root pino logger, built once in main and handed down as child loggers. Secrets are
// redacted by key name wherever they appear, so a careless log call cannot leak one.
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, at any of the depths we log objects. */
export const REDACTED_KEYS = [
  'key',
  'privateKey',
  'passphrase',
  'token',
  'joinToken',
  'join_token',
  'kubernetesToken',
  'kubernetes_token',
  'authorization',
  'password',
  'secret',
];

const REDACT_PATHS = REDACTED_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `req.headers.${k}`]);

export interface LoggerOptions {
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a sink to assert on what was logged. */
  destination?: DestinationStream;
  name?: string;
}

/** Creates the process's root logger: JSON lines, ISO time, secrets redacted. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env['TETHER_LOG_LEVEL'] ?? 'info';
  const base = { name: options.name ?? 'tether' };
  const config = {
    level,
    base,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}
