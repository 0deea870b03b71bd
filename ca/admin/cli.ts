// `tether ca …`: argument parsing and dispatch for every CA subcommand. Each command's logic
// lives in its own module; this file only turns flags into calls and results into output.
import { parseArgs } from 'node:util';
import { parseDurationSeconds } from '../../common/duration.js';
import { TetherError } from '../../common/errors.js';
import { createLogger } from '../../common/logging.js';
import { CA_KEY_TYPES, type CaKeyType, readPassphrase } from '../authority/keys.js';
import { type CaConfig, loadCaConfig } from '../config/load.js';
import { serveCa } from '../main.js';
import { denyAdd, denyList, denyRemove } from './deny.js';
import { describeGeneration, initCa } from './init.js';
import { openAuthority, openStore } from './open.js';
import { bundlePem, status } from './report.js';
import { rotateTokenKey } from './rotate-token-key.js';
import { tokenCreate, tokenList, tokenRevoke } from './tokens.js';

export const CA_USAGE = `usage: tether ca <command> [flags]

commands:
  init     --data-dir DIR --trust-domain TD [--key-type ecdsa-p256|ecdsa-p384|rsa-2048|rsa-3072|rsa-4096]
           [--upstream-cert FILE --upstream-key FILE [--upstream-bundle FILE]] [--config FILE]
  serve    --data-dir DIR [--listen 127.0.0.1:8443] [--metrics-listen 127.0.0.1:9090]
           [--default-ttl 1h] [--max-ttl 24h] [--dns-name NAME]... [--config FILE]
           [--token-listen 127.0.0.1:8444 [--issuer https://HOST:PORT]]
           [--k8s-issuer URL [--k8s-jwks-file FILE]] [--k8s-allow-namespaces NS,NS] [--injector-listen :8445]
  token    create --spiffe-id ID [--ttl 1h] [--uses 1] [--dns-name NAME]... | list [--json] | revoke ID
  deny     add (--spiffe-id ID | --serial HEX) [--reason TEXT] | list [--json] | remove (--spiffe-id ID | --serial HEX)
  rotate   --intermediate | --root | --token-key
  bundle   prints the trust bundle (PEM)
  status   [--json] roots, intermediates, fingerprints, expiry, issued counts

common flags: --data-dir DIR, --config FILE, --key-passphrase-env VAR, --key-passphrase-file FILE`;

const FLAGS = {
  'data-dir': { type: 'string' },
  config: { type: 'string' },
  'trust-domain': { type: 'string' },
  'key-type': { type: 'string' },
  'upstream-cert': { type: 'string' },
  'upstream-key': { type: 'string' },
  'upstream-bundle': { type: 'string' },
  listen: { type: 'string' },
  'metrics-listen': { type: 'string' },
  'default-ttl': { type: 'string' },
  'max-ttl': { type: 'string' },
  'dns-name': { type: 'string', multiple: true },
  'key-passphrase-env': { type: 'string' },
  'key-passphrase-file': { type: 'string' },
  'log-level': { type: 'string' },
  'spiffe-id': { type: 'string' },
  serial: { type: 'string' },
  reason: { type: 'string' },
  ttl: { type: 'string' },
  uses: { type: 'string' },
  intermediate: { type: 'boolean' },
  'token-key': { type: 'boolean' },
  'token-listen': { type: 'string' },
  issuer: { type: 'string' },
  'k8s-issuer': { type: 'string' },
  'k8s-jwks-file': { type: 'string' },
  'k8s-allow-namespaces': { type: 'string' },
  'injector-listen': { type: 'string' },
  root: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS; allowPositionals: true }>>['values'];

function usage(message: string): TetherError {
  return new TetherError('ERR_USAGE', `${message}\n\n${CA_USAGE}`);
}

/** Flags map onto config keys; anything given on the command line wins over the file. */
function configFrom(v: Values): CaConfig {
  return loadCaConfig(v.config, {
    dataDir: v['data-dir'],
    listen: v.listen,
    metricsListen: v['metrics-listen'],
    dnsNames: v['dns-name'],
    'ttl.default': v['default-ttl'],
    'ttl.max': v['max-ttl'],
    'keys.passphraseEnv': v['key-passphrase-env'],
    'keys.passphraseFile': v['key-passphrase-file'],
    'log.level': v['log-level'],
    'oauth.listen': v['token-listen'],
    'oauth.issuer': v.issuer,
    'kubernetes.issuer': v['k8s-issuer'],
    'kubernetes.jwksFile': v['k8s-jwks-file'],
    'kubernetes.allowNamespaces': v['k8s-allow-namespaces']
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    'kubernetes.injector.listen': v['injector-listen']?.replace(/^:/, '0.0.0.0:'),
  });
}

function requireDataDir(v: Values): string {
  if (v['data-dir']) return v['data-dir'];
  return configFrom(v).dataDir;
}

async function withStore<T>(v: Values, fn: (store: ReturnType<typeof openStore>) => Promise<T>): Promise<T> {
  const store = openStore(requireDataDir(v));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function init(v: Values): Promise<string> {
  if (!v['trust-domain']) throw usage('init needs --trust-domain');
  const keyType = (v['key-type'] ?? 'ecdsa-p256') as CaKeyType;
  if (!CA_KEY_TYPES.includes(keyType)) throw usage(`--key-type must be one of ${CA_KEY_TYPES.join(', ')}`);
  if (Boolean(v['upstream-cert']) !== Boolean(v['upstream-key']))
    throw usage('--upstream-cert and --upstream-key go together');
  const config = configFrom(v);
  const gens = await initCa({
    dataDir: config.dataDir,
    trustDomain: v['trust-domain'],
    keyType,
    rootTtlSeconds: config.rootTtlSeconds,
    intermediateTtlSeconds: config.intermediateTtlSeconds,
    passphrase: readPassphrase({ env: config.passphraseEnv, file: config.passphraseFile }),
    upstream: v['upstream-cert']
      ? { certFile: v['upstream-cert'], keyFile: v['upstream-key']!, bundleFile: v['upstream-bundle'] }
      : undefined,
  });
  return [
    `initialized CA for trust domain ${v['trust-domain']} in ${config.dataDir}`,
    ...gens.map(describeGeneration),
  ].join('\n');
}

async function serve(v: Values): Promise<string | null> {
  const config = configFrom(v);
  const log = createLogger({ level: config.logLevel });
  const ca = await serveCa(config, log);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      ca.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return null;
}

async function token(v: Values, args: string[]): Promise<string> {
  const [action, id] = args;
  if (action === 'create') {
    if (!v['spiffe-id']) throw usage('token create needs --spiffe-id');
    const spiffeId = v['spiffe-id'];
    const ttlSeconds = parseDurationSeconds(v.ttl ?? '1h');
    const uses = Number(v.uses ?? '1');
    return withStore(v, (s) => tokenCreate(s, { spiffeId, ttlSeconds, uses, dnsNames: v['dns-name'] ?? [] }));
  }
  if (action === 'list') return withStore(v, (s) => tokenList(s, v.json ?? false));
  if (action === 'revoke' && id) return withStore(v, (s) => tokenRevoke(s, id));
  throw usage('token needs create, list or revoke ID');
}

async function deny(v: Values, args: string[]): Promise<string> {
  const target = { spiffeId: v['spiffe-id'], serial: v.serial };
  switch (args[0]) {
    case 'add':
      return withStore(v, (s) => denyAdd(s, target, v.reason ?? ''));
    case 'remove':
      return withStore(v, (s) => denyRemove(s, target));
    case 'list':
      return withStore(v, (s) => denyList(s, v.json ?? false));
    default:
      throw usage('deny needs add, list or remove');
  }
}

async function rotate(v: Values): Promise<string> {
  if ([v.intermediate, v.root, v['token-key']].filter(Boolean).length !== 1)
    throw usage('rotate needs exactly one of --intermediate, --root or --token-key');
  if (v['token-key']) return rotateTokenKey(configFrom(v));
  const { store, authority } = await openAuthority(configFrom(v));
  try {
    if (v.intermediate) {
      const g = await authority.forceIntermediateRotation();
      return `new intermediate is signing now:\n${describeGeneration(g)}`;
    }
    const g = await authority.startRootRotation();
    return `new root published in the trust bundle (signing moves under it after rotation.rootPropagation):\n${describeGeneration(g)}`;
  } finally {
    await store.close();
  }
}

/** Runs `tether ca <args>`; returns the process exit code. */
export async function runCaCli(argv: string[]): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`tether ca: ${(err as Error).message}\n\n${CA_USAGE}\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.help || !command) {
    process.stdout.write(`${CA_USAGE}\n`);
    return v.help ? 0 : 2;
  }
  const commands: Record<string, () => Promise<string | null>> = {
    init: () => init(v),
    serve: () => serve(v),
    token: () => token(v, rest),
    deny: () => deny(v, rest),
    rotate: () => rotate(v),
    bundle: () => withStore(v, bundlePem),
    status: () => withStore(v, (s) => status(s, v.json ?? false)),
  };
  const run = commands[command];
  if (!run) {
    process.stderr.write(`tether ca: unknown command "${command}"\n\n${CA_USAGE}\n`);
    return 2;
  }
  try {
    const out = await run();
    if (out !== null) process.stdout.write(out.endsWith('\n') ? out : `${out}\n`);
    return 0;
  } catch (err) {
    const e =
      err instanceof TetherError
        ? err
        : new TetherError('ERR_INTERNAL', (err as Error).message, { cause: err });
    process.stderr.write(`tether ca ${command}: ${e.message} [${e.code}]\n`);
    return e.code === 'ERR_USAGE' || e.code === 'ERR_CONFIG_INVALID' ? 2 : 1;
  }
}
