import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { createLogger } from '../../common/logging.js';
import { WatchedFiles } from './watched-files.js';

let dir: string;
let lines: string[];
const log = () => createLogger({ level: 'info', destination: { write: (l: string) => void lines.push(l) } });

/** A "value" file whose content must be a number; anything else fails to load. */
function watched(file: string) {
  return new WatchedFiles<number>({
    files: [file],
    load: () => {
      const n = Number(readFileSync(file, 'utf8'));
      if (!Number.isFinite(n)) throw new Error('not a number');
      return n;
    },
    what: 'test value',
    log: log(),
  });
}

function replaceAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'watched-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('WatchedFiles', () => {
  it('refuses to start with a file that does not load, as a configuration error naming it', () => {
    const file = path.join(dir, 'v');
    writeFileSync(file, 'nope');
    expect(() => watched(file)).toThrow(TetherError);
    expect(() => watched(file)).toThrow('test value cannot be used: not a number');
  });

  it('publishes a new value after an atomic rename, and nothing when the bytes did not change', () => {
    const file = path.join(dir, 'v');
    writeFileSync(file, '1');
    const w = watched(file);
    const seen: number[] = [];
    w.onChange((v) => seen.push(v));
    w.check();
    expect(seen).toEqual([]);
    replaceAtomically(file, '2');
    w.check();
    w.check();
    expect(seen).toEqual([2]);
    expect(w.current()).toBe(2);
  });

  it('keeps the current value when the new file is broken, logs why once, and recovers on a good one', () => {
    const file = path.join(dir, 'v');
    writeFileSync(file, '1');
    const w = watched(file);
    replaceAtomically(file, 'garbage');
    w.check();
    w.check();
    expect(w.current()).toBe(1);
    const warnings = lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'new files cannot be used; keeping the current ones');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ what: 'test value', err: 'not a number' });
    replaceAtomically(file, '3');
    w.check();
    expect(w.current()).toBe(3);
  });

  it('keeps the current value while the file is missing', () => {
    const file = path.join(dir, 'v');
    writeFileSync(file, '1');
    const w = watched(file);
    rmSync(file);
    w.check();
    expect(w.current()).toBe(1);
  });
});
