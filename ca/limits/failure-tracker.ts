// Counts failed attestations per key (a source address, a credential) in a sliding window and
// blocks a key that fails too often. Memory is bounded: the oldest keys are dropped first.
import type { Clock } from '../../common/clock.js';

export interface FailurePolicy {
  /** Failures within `windowMs` that trigger a block. */
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly blockMs: number;
  /** Upper bound on tracked keys. */
  readonly maxKeys: number;
}

interface Entry {
  failures: number[];
  blockedUntil: number;
}

export class FailureTracker {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly policy: FailurePolicy,
    private readonly clock: Clock,
  ) {}

  /** ms left on the key's block, or 0 if it is not blocked. */
  blockedFor(key: string): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    return Math.max(0, entry.blockedUntil - this.clock.now());
  }

  /** Records one failure; returns true if this failure started a block. */
  recordFailure(key: string): boolean {
    const now = this.clock.now();
    const entry = this.touch(key);
    entry.failures = entry.failures.filter((t) => t > now - this.policy.windowMs);
    entry.failures.push(now);
    if (entry.failures.length >= this.policy.maxFailures && entry.blockedUntil <= now) {
      entry.blockedUntil = now + this.policy.blockMs;
      entry.failures = [];
      return true;
    }
    return false;
  }

  /** Keys blocked right now, with when their block ends. */
  blocked(): { key: string; until: number }[] {
    const now = this.clock.now();
    return [...this.entries]
      .filter(([, e]) => e.blockedUntil > now)
      .map(([key, e]) => ({ key, until: e.blockedUntil }));
  }

  private touch(key: string): Entry {
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert to keep Map order = recency
    } else {
      entry = { failures: [], blockedUntil: 0 };
      if (this.entries.size >= this.policy.maxKeys) this.evictOne();
    }
    this.entries.set(key, entry);
    return entry;
  }

  private evictOne(): void {
    const now = this.clock.now();
    for (const [key, e] of this.entries) {
      if (e.blockedUntil <= now) {
        this.entries.delete(key);
        return;
      }
    }
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
