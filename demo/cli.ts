// `tether demo [--once] [--data-dir DIR]`, and `tether demo app --role orders|web --listen
// HOST:PORT [--orders-url URL]`: one demo workload on its own (the docker-compose services).
import { parseArgs } from 'node:util';
import { type DemoApp, startOrdersApp, startWebApp } from './apps.js';
import { runDemo } from './main.js';

const APP_USAGE =
  'usage: tether demo app --role orders|web --listen HOST:PORT [--orders-url URL]\n' +
  '  orders: answers with the caller identity its sidecar put in x-forwarded-client-cert\n' +
  "  web:    answers by calling --orders-url (its sidecar's outbound listener; default\n" +
  '          http://127.0.0.1:15001/orders)\n';

export async function runDemoCli(argv: string[]): Promise<number> {
  if (argv[0] === 'app') return runDemoAppCli(argv.slice(1));
  let values: { once?: boolean | undefined; 'data-dir'?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        once: { type: 'boolean' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(
      `tether demo: ${(err as Error).message}\nusage: tether demo [--once] [--data-dir DIR]\n`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(
      'usage: tether demo [--once] [--data-dir DIR]   (default data dir: ./.tether-demo)\n' +
        '       tether demo app --role orders|web --listen HOST:PORT [--orders-url URL]\n',
    );
    return 0;
  }
  return runDemo({
    dataDir: values['data-dir'] ?? '.tether-demo',
    once: values.once ?? false,
    print: (t) => process.stdout.write(t),
  });
}

function parseListen(value: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Runs one demo app until SIGTERM/SIGINT; logs one JSON line once it listens. */
export async function runDemoAppCli(argv: string[]): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`tether demo app: ${message}\n${APP_USAGE}`);
    return 2;
  };
  let values: { role?: string; listen?: string; 'orders-url'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        role: { type: 'string' },
        listen: { type: 'string' },
        'orders-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(APP_USAGE);
    return 0;
  }
  if (values.role !== 'orders' && values.role !== 'web') return fail('--role must be orders or web');
  const at = parseListen(values.listen ?? '');
  if (!at) return fail('--listen must be HOST:PORT, e.g. 0.0.0.0:8080');
  if (values.role === 'orders' && values['orders-url']) return fail('--orders-url is for --role web');
  let ordersUrl: URL;
  try {
    ordersUrl = new URL(values['orders-url'] ?? 'http://127.0.0.1:15001/orders');
    if (ordersUrl.protocol !== 'http:') throw new Error('not http');
  } catch {
    return fail('--orders-url must be an http:// URL');
  }
  let app: DemoApp;
  try {
    app = values.role === 'orders' ? await startOrdersApp(at) : await startWebApp(() => ordersUrl, at);
  } catch (err) {
    process.stderr.write(`tether demo app: cannot listen on ${values.listen}: ${(err as Error).message}\n`);
    return 1;
  }
  const log = (msg: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ time: Date.now(), msg, role: values.role, ...extra })}\n`);
  log('demo app listening', {
    host: at.host,
    port: app.port,
    ...(values.role === 'web' ? { ordersUrl: ordersUrl.href } : {}),
  });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await app.close();
  log('demo app stopped');
  return 0;
}
