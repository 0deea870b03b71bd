// The rotation schedule as a pure function of (now, generations, policy): what should change
// next. authority.ts carries the steps out; tests drive this with an injected clock.
//
// Intermediates (design.md §3): the next one is prepared at half its predecessor's life and
// activated in the last sixth. Roots: a new root is published in the bundle first, signing moves
// under it once the bundle has propagated, and the old root leaves the bundle only after every
// leaf chained to it can have expired.
import type { CaGeneration } from '../store/store.js';

export interface RotationPolicy {
  readonly intermediateTtlSeconds: number;
  readonly rootTtlSeconds: number;
  /** How long a new root sits in the bundle before signing moves under it. */
  readonly rootPropagationSeconds: number;
  readonly maxLeafTtlSeconds: number;
}

export type RotationStep =
  | { readonly kind: 'prepare-intermediate'; readonly parentId: string }
  /** Create and activate at once: bootstrap, recovery after expiry, or a root switch. */
  | { readonly kind: 'replace-intermediate'; readonly parentId: string; readonly retireId: string | null }
  | { readonly kind: 'activate-intermediate'; readonly id: string; readonly retireId: string | null }
  | { readonly kind: 'prepare-root' }
  | { readonly kind: 'switch-root'; readonly id: string; readonly retiringId: string | null }
  | { readonly kind: 'remove-root'; readonly id: string };

/** Latest recorded leaf expiry below each root (ms), for deciding when a root may leave the bundle. */
export type LeafExpiryByRoot = ReadonlyMap<string, number | null>;

const isAnchor = (g: CaGeneration) => g.kind === 'root' || g.kind === 'upstream';

/** Fraction `f` of the way through a certificate's life, in ms since epoch. */
export function lifePoint(g: Pick<CaGeneration, 'notBefore' | 'notAfter'>, f: number): number {
  return g.notBefore + (g.notAfter - g.notBefore) * f;
}

/** When an active intermediate's successor should be prepared and when it should take over. */
export function intermediateSchedule(g: CaGeneration): { prepareAt: number; activateAt: number } {
  return { prepareAt: lifePoint(g, 1 / 2), activateAt: lifePoint(g, 5 / 6) };
}

function rootSteps(now: number, gens: readonly CaGeneration[], policy: RotationPolicy): RotationStep[] {
  const active = gens.find((g) => isAnchor(g) && g.state === 'active');
  const pending = gens.find((g) => g.kind === 'root' && g.state === 'prepared');
  if (pending && now >= pending.createdAt + policy.rootPropagationSeconds * 1000) {
    return [{ kind: 'switch-root', id: pending.id, retiringId: active?.id ?? null }];
  }
  // A self-managed root entering its last sixth starts its own rotation.
  if (active?.kind === 'root' && !pending && now >= lifePoint(active, 5 / 6))
    return [{ kind: 'prepare-root' }];
  return [];
}

function intermediateSteps(now: number, gens: readonly CaGeneration[]): RotationStep[] {
  const anchor = gens.find((g) => isAnchor(g) && g.state === 'active');
  if (!anchor) return [];
  const active = gens.find((g) => g.kind === 'intermediate' && g.state === 'active');
  if (!active || active.parentId !== anchor.id || now >= active.notAfter) {
    return [{ kind: 'replace-intermediate', parentId: anchor.id, retireId: active?.id ?? null }];
  }
  const next = gens.find(
    (g) => g.kind === 'intermediate' && g.state === 'prepared' && g.parentId === anchor.id,
  );
  const { prepareAt, activateAt } = intermediateSchedule(active);
  if (!next && now >= prepareAt) return [{ kind: 'prepare-intermediate', parentId: anchor.id }];
  if (next && now >= activateAt) return [{ kind: 'activate-intermediate', id: next.id, retireId: active.id }];
  return [];
}

function removalSteps(
  now: number,
  gens: readonly CaGeneration[],
  policy: RotationPolicy,
  leafExpiry: LeafExpiryByRoot,
): RotationStep[] {
  const steps: RotationStep[] = [];
  for (const root of gens.filter((g) => g.kind === 'root' && g.state === 'retiring')) {
    // Any leaf signed under this root was signed before it stopped signing (retiredAt), so it
    // expires by retiredAt + max TTL; the recorded latest expiry covers policy changes since.
    const couldHaveSigned = (root.retiredAt ?? now) + policy.maxLeafTtlSeconds * 1000;
    const recorded = leafExpiry.get(root.id) ?? 0;
    if (now >= Math.max(couldHaveSigned, recorded)) steps.push({ kind: 'remove-root', id: root.id });
  }
  return steps;
}

/** Everything that is due now, in the order it should be applied. */
export function planRotation(
  now: number,
  gens: readonly CaGeneration[],
  policy: RotationPolicy,
  leafExpiry: LeafExpiryByRoot = new Map(),
): RotationStep[] {
  const root = rootSteps(now, gens, policy);
  // A root switch replaces the intermediate itself; plan intermediates on the next tick.
  const intermediate = root.some((s) => s.kind === 'switch-root') ? [] : intermediateSteps(now, gens);
  return [...root, ...intermediate, ...removalSteps(now, gens, policy, leafExpiry)];
}
