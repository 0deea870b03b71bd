// How long a leaf lives: 0 asks for the default, more than the maximum is clamped, less than
// the minimum is refused (design.md §3). The signing CA's own expiry caps it later.
import { TetherError } from '../../common/errors.js';

export const MIN_TTL_SECONDS = 10;

export interface TtlPolicy {
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
}

/** Resolves the TTL for a request; `attestedMaxSeconds` is what the attestor allows this caller. */
export function resolveTtlSeconds(
  requested: number,
  policy: TtlPolicy,
  attestedMaxSeconds: number | null,
): number {
  const max = Math.min(policy.maxTtlSeconds, attestedMaxSeconds ?? Number.POSITIVE_INFINITY);
  if (requested === 0) return Math.min(policy.defaultTtlSeconds, max);
  if (requested < MIN_TTL_SECONDS) {
    throw new TetherError(
      'ERR_TTL_TOO_SHORT',
      `ttl_seconds ${requested} is below the minimum of ${MIN_TTL_SECONDS}`,
    );
  }
  return Math.min(requested, max);
}
