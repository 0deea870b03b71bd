// When to renew and how long to wait after a failure: renew at half-life ± 10 % jitter so a
// fleet restarted together does not renew together; back off exponentially, capped, jittered.

/** `random` returns [0, 1); injected so tests are deterministic. */
export type Random = () => number;

/** The moment to renew: half of the remaining life from receipt, ± 10 % of that life. */
export function renewAtMs(receivedAt: number, notAfter: number, random: Random): number {
  const life = Math.max(0, notAfter - receivedAt);
  const fraction = 0.5 + (random() * 2 - 1) * 0.1;
  return receivedAt + life * fraction;
}

export const BACKOFF_BASE_MS = 500;
export const BACKOFF_CAP_MS = 30_000;

/** Wait before retry number `attempt` (1-based): base·2^(n-1), capped, with ±20 % jitter. */
export function backoffMs(attempt: number, random: Random, capMs = BACKOFF_CAP_MS): number {
  const raw = Math.min(capMs, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + random() * 0.4));
}
