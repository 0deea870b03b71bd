// A value loaded from files and reloaded when they change: fs.watch on their directories (sees
// in-place writes, atomic renames and Kubernetes' `..data` symlink swap) plus a slow poll as a
// safety net. Unchanged bytes are ignored; a new version that fails to load keeps the old value
// and logs why once (ghostunnel's reload contract).
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';

export interface WatchedFilesOptions<T> {
  /** Every file the value is read from. */
  readonly files: readonly string[];
  /** Reads and checks the value; throws with a message saying what is wrong. */
  readonly load: () => T;
  /** For logs and errors, e.g. "identity cert.pem". */
  readonly what: string;
  readonly log: Logger;
  readonly pollMs?: number;
  readonly debounceMs?: number;
}

export class WatchedFiles<T> {
  private value: T;
  private fingerprint: string;
  private failedFingerprint = '';
  private readonly listeners = new Set<(value: T) => void>();
  private readonly watchers: FSWatcher[] = [];
  private poll: NodeJS.Timeout | null = null;
  private debounce: NodeJS.Timeout | null = null;

  /** Loads now; a first load that fails is a configuration error. */
  constructor(private readonly o: WatchedFilesOptions<T>) {
    try {
      this.fingerprint = this.readFingerprint();
      this.value = o.load();
    } catch (err) {
      throw new TetherError('ERR_CONFIG_INVALID', `${o.what} cannot be used: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  current(): T {
    return this.value;
  }

  /** Called on every successful change (not now). */
  onChange(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts watching; idempotent. */
  start(): void {
    if (this.poll) return;
    for (const dir of new Set(this.o.files.map((f) => path.dirname(path.resolve(f))))) {
      try {
        const w = watch(dir, { persistent: false }, () => this.soon());
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch (err) {
        this.o.log.warn({ dir, err: (err as Error).message }, 'cannot watch directory; polling only');
      }
    }
    this.poll = setInterval(() => this.check(), this.o.pollMs ?? 2_000);
    this.poll.unref();
  }

  stop(): void {
    for (const w of this.watchers.splice(0)) w.close();
    if (this.poll) clearInterval(this.poll);
    if (this.debounce) clearTimeout(this.debounce);
    this.poll = null;
  }

  /** Re-reads the files; publishes a new value, or keeps the old one and says why. */
  check(): void {
    let fingerprint: string;
    try {
      fingerprint = this.readFingerprint();
    } catch (err) {
      this.fail('', err);
      return;
    }
    if (fingerprint === this.fingerprint || fingerprint === this.failedFingerprint) return;
    let next: T;
    try {
      next = this.o.load();
    } catch (err) {
      this.fail(fingerprint, err);
      return;
    }
    this.fingerprint = fingerprint;
    this.failedFingerprint = '';
    this.value = next;
    this.o.log.info({ what: this.o.what }, 'reloaded from files');
    for (const l of this.listeners) l(next);
  }

  private soon(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.check(), this.o.debounceMs ?? 50);
    this.debounce.unref();
  }

  private fail(fingerprint: string, err: unknown): void {
    if (fingerprint && fingerprint === this.failedFingerprint) return;
    this.failedFingerprint = fingerprint;
    this.o.log.warn(
      { what: this.o.what, err: (err as Error).message },
      'new files cannot be used; keeping the current ones',
    );
  }

  private readFingerprint(): string {
    const h = createHash('sha256');
    for (const f of this.o.files) h.update(readFileSync(f)).update('\0');
    return h.digest('hex');
  }
}
