// Generates TypeScript types for proto/ with grpc-js's own generator (proto/gen is never hand-edited).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const gen = path.join(
  path.dirname(require.resolve('@grpc/proto-loader/package.json')),
  'build/bin/proto-loader-gen-types.js',
);
mkdirSync(path.join(root, 'proto/gen'), { recursive: true });
execFileSync(
  process.execPath,
  [
    gen,
    'tether/ca/v1/ca.proto',
    '--longs=String',
    '--enums=String',
    '--defaults',
    '--oneofs',
    '--grpcLib=@grpc/grpc-js',
    '--outDir=proto/gen',
    '--importFileExtension=.js',
    '--includeDirs=proto',
  ],
  { cwd: root, stdio: 'inherit' },
);
