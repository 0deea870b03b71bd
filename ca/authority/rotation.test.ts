import { describe, expect, it } from 'vitest';
import type { CaGeneration } from '../store/store.js';
import { intermediateSchedule, lifePoint, planRotation, type RotationPolicy } from './rotation.js';

const H = 3_600_000;
const policy: RotationPolicy = {
  intermediateTtlSeconds: 6 * 3600,
  rootTtlSeconds: 60 * 3600,
  rootPropagationSeconds: 3600,
  maxLeafTtlSeconds: 3600,
};

function gen(g: Partial<CaGeneration> & Pick<CaGeneration, 'id' | 'kind' | 'state'>): CaGeneration {
  return {
    parentId: null,
    certDer: Buffer.alloc(0),
    keyFile: `${g.id}.key.pem`,
    notBefore: 0,
    notAfter: 6 * H,
    createdAt: g.notBefore ?? 0,
    activatedAt: null,
    retiredAt: null,
    ...g,
  };
}

const root1 = gen({ id: 'root-1', kind: 'root', state: 'active', notBefore: 0, notAfter: 60 * H });
const int1 = gen({
  id: 'int-1',
  kind: 'intermediate',
  state: 'active',
  parentId: 'root-1',
  notBefore: 0,
  notAfter: 6 * H,
});
const int2 = gen({
  id: 'int-2',
  kind: 'intermediate',
  state: 'prepared',
  parentId: 'root-1',
  notBefore: 3 * H,
  notAfter: 9 * H,
});

describe('intermediateSchedule', () => {
  it('prepares at half the life and activates at five sixths', () => {
    const g = gen({
      id: 'i',
      kind: 'intermediate',
      state: 'active',
      notBefore: 1000,
      notAfter: 1000 + 6 * H,
    });
    expect(intermediateSchedule(g)).toEqual({ prepareAt: 1000 + 3 * H, activateAt: 1000 + 5 * H });
  });

  it('lifePoint interpolates between notBefore and notAfter', () => {
    expect(lifePoint({ notBefore: 100, notAfter: 700 }, 0)).toBe(100);
    expect(lifePoint({ notBefore: 100, notAfter: 700 }, 1)).toBe(700);
    expect(lifePoint({ notBefore: 100, notAfter: 700 }, 1 / 3)).toBe(300);
  });
});

describe('planRotation: intermediates', () => {
  it('does nothing before half of the active intermediate’s life', () => {
    expect(planRotation(3 * H - 1, [root1, int1], policy)).toEqual([]);
  });

  it('prepares the next intermediate under the active root at half-life', () => {
    expect(planRotation(3 * H, [root1, int1], policy)).toEqual([
      { kind: 'prepare-intermediate', parentId: 'root-1' },
    ]);
  });

  it('does not prepare a second successor while one is waiting', () => {
    expect(planRotation(4 * H, [root1, int1, int2], policy)).toEqual([]);
  });

  it('waits to activate the prepared intermediate until the last sixth', () => {
    expect(planRotation(5 * H - 1, [root1, int1, int2], policy)).toEqual([]);
  });

  it('activates the prepared intermediate at five sixths, retiring the active one', () => {
    expect(planRotation(5 * H, [root1, int1, int2], policy)).toEqual([
      { kind: 'activate-intermediate', id: 'int-2', retireId: 'int-1' },
    ]);
  });

  it('replaces an active intermediate that has expired', () => {
    expect(planRotation(6 * H, [root1, int1], policy)).toEqual([
      { kind: 'replace-intermediate', parentId: 'root-1', retireId: 'int-1' },
    ]);
  });

  it('creates an intermediate when there is none (bootstrap)', () => {
    expect(planRotation(0, [root1], policy)).toEqual([
      { kind: 'replace-intermediate', parentId: 'root-1', retireId: null },
    ]);
  });

  it('replaces an active intermediate that chains to a root that is no longer active', () => {
    const root2 = gen({ id: 'root-2', kind: 'root', state: 'active', notBefore: 0, notAfter: 60 * H });
    const retiring = { ...root1, state: 'retiring' as const, retiredAt: H };
    expect(planRotation(H, [retiring, root2, int1], policy)).toEqual([
      { kind: 'replace-intermediate', parentId: 'root-2', retireId: 'int-1' },
    ]);
  });

  it('ignores a prepared intermediate under another root', () => {
    const root2 = gen({ id: 'root-2', kind: 'root', state: 'active', notBefore: 0, notAfter: 60 * H });
    const active = { ...int1, parentId: 'root-2' };
    expect(planRotation(5 * H, [root2, active, int2], policy)).toEqual([
      { kind: 'prepare-intermediate', parentId: 'root-2' },
    ]);
  });

  it('plans nothing without an active anchor', () => {
    expect(
      planRotation(
        10 * H,
        [
          { ...root1, state: 'retired' },
          { ...int1, state: 'retired' },
        ],
        policy,
      ),
    ).toEqual([]);
  });
});

describe('planRotation: roots', () => {
  const pending = gen({
    id: 'root-2',
    kind: 'root',
    state: 'prepared',
    notBefore: 2 * H,
    notAfter: 62 * H,
    createdAt: 2 * H,
  });

  it('keeps a new root in the bundle without signing until rootPropagationSeconds have passed', () => {
    const steps = planRotation(3 * H - 1, [root1, int1, pending], policy);
    expect(steps.some((s) => s.kind === 'switch-root')).toBe(false);
  });

  it('switches signing to the pending root once the bundle has propagated, and plans intermediates next tick', () => {
    expect(planRotation(3 * H, [root1, int1, pending], policy)).toEqual([
      { kind: 'switch-root', id: 'root-2', retiringId: 'root-1' },
    ]);
  });

  it('switches to a lone prepared root with nothing to retire', () => {
    expect(planRotation(3 * H, [pending], policy)).toEqual([
      { kind: 'switch-root', id: 'root-2', retiringId: null },
    ]);
  });

  it('prepares a new root when the active root enters its last sixth', () => {
    const freshInt = { ...int1, notBefore: 49 * H, notAfter: 55 * H };
    expect(planRotation(50 * H - 1, [root1, freshInt], policy)).toEqual([]);
    expect(planRotation(50 * H, [root1, freshInt], policy)).toEqual([{ kind: 'prepare-root' }]);
  });

  it('does not prepare another root while one is pending', () => {
    const late = { ...pending, createdAt: 50 * H };
    const freshInt = { ...int1, notBefore: 49 * H, notAfter: 55 * H };
    expect(planRotation(50 * H + 1, [root1, freshInt, late], policy)).toEqual([]);
  });

  it('never prepares a root for an upstream anchor, even at the end of its life', () => {
    const upstream = gen({ id: 'up-1', kind: 'upstream', state: 'active', notBefore: 0, notAfter: 60 * H });
    const int = { ...int1, parentId: 'up-1', notBefore: 58 * H, notAfter: 64 * H };
    expect(planRotation(59 * H, [upstream, int], policy)).toEqual([]);
  });

  it('places intermediates under the upstream anchor', () => {
    const upstream = gen({ id: 'up-1', kind: 'upstream', state: 'active', notBefore: 0, notAfter: 60 * H });
    expect(planRotation(H, [upstream], policy)).toEqual([
      { kind: 'replace-intermediate', parentId: 'up-1', retireId: null },
    ]);
  });
});

describe('planRotation: removing a retiring root', () => {
  const root2 = gen({ id: 'root-2', kind: 'root', state: 'active', notBefore: 0, notAfter: 60 * H });
  const int = gen({
    id: 'int-9',
    kind: 'intermediate',
    state: 'active',
    parentId: 'root-2',
    notBefore: 10 * H,
    notAfter: 16 * H,
  });
  const retiring = { ...root1, state: 'retiring' as const, retiredAt: 10 * H };
  const gens = [retiring, root2, int];
  const removal = { kind: 'remove-root', id: 'root-1' };

  it('keeps the root until retiredAt + the maximum leaf TTL', () => {
    expect(planRotation(11 * H - 1, gens, policy)).not.toContainEqual(removal);
    expect(planRotation(11 * H, gens, policy)).toContainEqual(removal);
  });

  it('keeps the root until the latest recorded leaf under it has expired, if that is later', () => {
    const expiry = new Map([['root-1', 12 * H]]);
    expect(planRotation(11 * H, gens, policy, expiry)).not.toContainEqual(removal);
    expect(planRotation(12 * H - 1, gens, policy, expiry)).not.toContainEqual(removal);
    expect(planRotation(12 * H, gens, policy, expiry)).toContainEqual(removal);
  });

  it('still waits for retiredAt + max TTL when the recorded leaves expire earlier', () => {
    const expiry = new Map([['root-1', 10 * H + 1]]);
    expect(planRotation(11 * H - 1, gens, policy, expiry)).not.toContainEqual(removal);
  });

  it('never removes the active root', () => {
    expect(planRotation(1000 * H, [root2, int], policy).some((s) => s.kind === 'remove-root')).toBe(false);
  });

  it('lists removal after root and intermediate steps', () => {
    const expiredInt = { ...int, notAfter: 11 * H };
    expect(planRotation(11 * H, [retiring, root2, expiredInt], policy)).toEqual([
      { kind: 'replace-intermediate', parentId: 'root-2', retireId: 'int-9' },
      removal,
    ]);
  });
});
