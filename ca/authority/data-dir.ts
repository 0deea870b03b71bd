// Where the CA keeps its state: DIR/tether.db and DIR/keys/*.key.pem, all owner-only.
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface DataDir {
  readonly root: string;
  readonly dbFile: string;
  readonly keysDir: string;
}

export function dataDirPaths(root: string): DataDir {
  const abs = path.resolve(root);
  return { root: abs, dbFile: path.join(abs, 'tether.db'), keysDir: path.join(abs, 'keys') };
}

/** Creates the directories with mode 0700 (and tightens them if they already exist). */
export function ensureDataDir(dir: DataDir): void {
  for (const d of [dir.root, dir.keysDir]) {
    if (!existsSync(d)) mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
}
