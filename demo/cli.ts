// `tether demo [--once] [--data-dir DIR]`.
import { parseArgs } from 'node:util';
import { runDemo } from './main.js';

export async function runDemoCli(argv: string[]): Promise<number> {
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
      'usage: tether demo [--once] [--data-dir DIR]   (default data dir: ./.tether-demo)\n',
    );
    return 0;
  }
  return runDemo({
    dataDir: values['data-dir'] ?? '.tether-demo',
    once: values.once ?? false,
    print: (t) => process.stdout.write(t),
  });
}
