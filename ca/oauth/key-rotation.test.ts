import { describe, expect, it } from 'vitest';
import type { TokenKeyRecord } from '../store/store.js';
import { dropAt, planKeyRotation, RETIRED_KEY_GRACE_MS } from './key-rotation.js';

const policy = { signingKeyTtlSeconds: 3600, tokenTtlSeconds: 900 };
const T0 = 1_700_000_000_000;

function key(
  kid: string,
  state: TokenKeyRecord['state'],
  at: number,
  retiredAt: number | null = null,
): TokenKeyRecord {
  return {
    kid,
    keyFile: `${kid}.pem`,
    state,
    createdAt: at,
    activatedAt: state === 'next' ? null : at,
    retiredAt,
  };
}

describe('planKeyRotation', () => {
  it('creates an active and a published next key on first start', () => {
    expect(planKeyRotation(T0, [], policy)).toEqual([
      { kind: 'create-active', retireKid: null },
      { kind: 'create-next' },
    ]);
  });

  it('does nothing while the active key is within its time and a next key is published', () => {
    const keys = [key('a', 'active', T0), key('n', 'next', T0)];
    expect(planKeyRotation(T0 + 3599_000, keys, policy)).toEqual([]);
  });

  it('publishes a next key when none is', () => {
    expect(planKeyRotation(T0 + 1000, [key('a', 'active', T0)], policy)).toEqual([{ kind: 'create-next' }]);
  });

  it('promotes the already-published next key when the active key is due, and publishes a new next', () => {
    const keys = [key('a', 'active', T0), key('n', 'next', T0)];
    expect(planKeyRotation(T0 + 3600_000, keys, policy)).toEqual([
      { kind: 'promote', kid: 'n', retireKid: 'a' },
      { kind: 'create-next' },
    ]);
  });

  it('rotates early when forced, still promoting the published key', () => {
    const keys = [key('a', 'active', T0), key('n', 'next', T0)];
    expect(planKeyRotation(T0 + 1000, keys, policy, true)[0]).toEqual({
      kind: 'promote',
      kid: 'n',
      retireKid: 'a',
    });
  });

  it('keeps a retired key until every token it signed has expired (plus skew), then drops it', () => {
    const retiredAt = T0 + 3600_000;
    const keys = [
      key('old', 'retired', T0, retiredAt),
      key('a', 'active', retiredAt),
      key('n', 'next', retiredAt),
    ];
    const lastExpiry = retiredAt + 900_000;
    expect(dropAt(keys[0]!, policy)).toBe(lastExpiry + RETIRED_KEY_GRACE_MS);
    expect(planKeyRotation(lastExpiry + RETIRED_KEY_GRACE_MS - 1, keys, policy)).toEqual([]);
    expect(planKeyRotation(lastExpiry + RETIRED_KEY_GRACE_MS, keys, policy)).toEqual([
      { kind: 'drop', kid: 'old' },
    ]);
  });

  it('runs a day of hourly rotations with at most three keys published and each published before it signs', () => {
    let keys: TokenKeyRecord[] = [];
    let serial = 0;
    const publishedAt = new Map<string, number>();
    for (let now = T0; now < T0 + 86_400_000; now += 60_000) {
      for (const step of planKeyRotation(now, keys, policy)) {
        if (step.kind === 'create-next' || step.kind === 'create-active') {
          const kid = `k${serial++}`;
          publishedAt.set(kid, now);
          keys.push(key(kid, step.kind === 'create-next' ? 'next' : 'active', now));
        }
        if (step.kind === 'promote') {
          expect(now - publishedAt.get(step.kid)!).toBeGreaterThanOrEqual(3600_000);
          keys = keys.map((k) =>
            k.kid === step.kid
              ? { ...k, state: 'active', activatedAt: now }
              : k.kid === step.retireKid
                ? { ...k, state: 'retired', retiredAt: now }
                : k,
          );
        }
        if (step.kind === 'drop') keys = keys.filter((k) => k.kid !== step.kid);
      }
      expect(keys.filter((k) => k.state === 'active')).toHaveLength(1);
      expect(keys.length).toBeLessThanOrEqual(3);
    }
    expect(serial).toBeGreaterThanOrEqual(24);
  });
});
