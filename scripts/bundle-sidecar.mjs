// Bundles `tether sidecar` (tsc's dist/sidecar/cli.js and everything it imports) into one ESM
// file, dist/bundle/sidecar.mjs, so the sidecar starts without resolving and loading ~1,000 modules.
// Lazy imports stay lazy (chunks beside it); node-forge stays outside (loaded by createRequire).
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

await build({
  absWorkingDir: root,
  entryPoints: { sidecar: 'dist/sidecar/cli.js' },
  outdir: 'dist/bundle',
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // tsc's source maps are chained, so stack traces name the .ts files.
  sourcemap: 'linked',
  // Whitespace and syntax only: ~30% less source to parse and hold, identifiers (stack traces) kept.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // The CJS dependencies call require() for Node built-ins; ESM output has no require of its own.
  banner: {
    js: "import { createRequire as __tetherCreateRequire } from 'node:module'; const require = __tetherCreateRequire(import.meta.url);",
  },
  external: ['node-forge'],
});
