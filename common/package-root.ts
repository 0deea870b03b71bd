// Locates files shipped with the package (protos) from both the TypeScript sources and dist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/** The directory holding Tether's package.json. */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'proto'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the tether package root');
    dir = parent;
  }
  cached = dir;
  return dir;
}
