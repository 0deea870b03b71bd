// The token signing key schedule as a pure function of time and the current keys, so tests run it
// with any clock. Invariants: a `next` key is always published; a rotation promotes it (it has been
// in the JWKS since the previous rotation); a retired key stays published until every token it
// signed has expired.
import type { TokenKeyRecord } from '../store/store.js';

export interface KeyRotationPolicy {
  /** How long one key signs before the next takes over. */
  readonly signingKeyTtlSeconds: number;
  /** Longest lifetime of a token a key may have signed. */
  readonly tokenTtlSeconds: number;
}

/** Extra time a retired key stays published, for verifiers' clock skew. */
export const RETIRED_KEY_GRACE_MS = 60_000;

export type KeyStep =
  /** Only when no published key can take over (first start, or a forced rotation without `next`). */
  | { readonly kind: 'create-active'; readonly retireKid: string | null }
  | { readonly kind: 'create-next' }
  | { readonly kind: 'promote'; readonly kid: string; readonly retireKid: string | null }
  | { readonly kind: 'drop'; readonly kid: string };

function isDue(now: number, active: TokenKeyRecord | undefined, policy: KeyRotationPolicy): boolean {
  if (!active) return true;
  return now >= (active.activatedAt ?? active.createdAt) + policy.signingKeyTtlSeconds * 1000;
}

/** When a retired key may leave the JWKS. */
export function dropAt(key: TokenKeyRecord, policy: KeyRotationPolicy): number {
  return (key.retiredAt ?? key.createdAt) + policy.tokenTtlSeconds * 1000 + RETIRED_KEY_GRACE_MS;
}

/** The steps due at `now`; `force` rotates even if the active key's time is not up. */
export function planKeyRotation(
  now: number,
  keys: readonly TokenKeyRecord[],
  policy: KeyRotationPolicy,
  force = false,
): KeyStep[] {
  const active = keys.find((k) => k.state === 'active');
  const next = keys.find((k) => k.state === 'next');
  const steps: KeyStep[] = [];
  if (force || isDue(now, active, policy)) {
    const retireKid = active?.kid ?? null;
    steps.push(next ? { kind: 'promote', kid: next.kid, retireKid } : { kind: 'create-active', retireKid });
    steps.push({ kind: 'create-next' });
  } else if (!next) {
    steps.push({ kind: 'create-next' });
  }
  for (const k of keys) {
    if (k.state === 'retired' && now >= dropAt(k, policy)) steps.push({ kind: 'drop', kid: k.kid });
  }
  return steps;
}
