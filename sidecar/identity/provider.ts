// What listeners consume: an identity (certificate + key) and a trust bundle, pushed to
// subscribers on every change. Each listener's provider composes its identity part (the mesh
// CA's SVID or operator files) with its trust part (the mesh bundle or a bundle file).
import type { Bundle, IdentityState, Svid } from './svid.js';
import { isValidAt } from './svid.js';

export interface IdentityProvider {
  state(): IdentityState;
  /** A currently valid certificate and a bundle. */
  isReady(): boolean;
  /** Calls `listener` now and on every change. */
  subscribe(listener: (state: IdentityState) => void): () => void;
}

/** One changing value (an SVID or a bundle). */
export interface Part<T> {
  get(): T;
  onChange(listener: () => void): void;
}

/** The SVID and bundle parts of an existing provider (e.g. the CA-backed source). */
export function partsOf(p: IdentityProvider): { svid: Part<Svid | null>; bundle: Part<Bundle | null> } {
  return {
    svid: { get: () => p.state().svid, onChange: (l) => void p.subscribe(() => l()) },
    bundle: { get: () => p.state().bundle, onChange: (l) => void p.subscribe(() => l()) },
  };
}

/** A provider publishing a new state whenever either part changes. */
export function composeIdentity(
  svid: Part<Svid | null>,
  bundle: Part<Bundle | null>,
  now: () => number,
): IdentityProvider {
  let state: IdentityState = { svid: svid.get(), bundle: bundle.get() };
  const listeners = new Set<(s: IdentityState) => void>();
  const update = () => {
    const next = { svid: svid.get(), bundle: bundle.get() };
    if (next.svid === state.svid && next.bundle === state.bundle) return;
    state = next;
    for (const l of listeners) l(state);
  };
  svid.onChange(update);
  bundle.onChange(update);
  return {
    state: () => state,
    isReady: () => state.svid !== null && state.bundle !== null && isValidAt(state.svid, now()),
    subscribe(listener) {
      listeners.add(listener);
      listener(state);
      return () => listeners.delete(listener);
    },
  };
}

/** The sidecar-wide view: /readyz is ready only when every listener's identity and trust are. */
export function allReady(main: IdentityProvider, listeners: readonly IdentityProvider[]): IdentityProvider {
  return {
    state: () => main.state(),
    subscribe: (l) => main.subscribe(l),
    isReady: () => main.isReady() && listeners.every((p) => p.isReady()),
  };
}
