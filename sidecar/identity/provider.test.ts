import { describe, expect, it } from 'vitest';
import { composeIdentity, type Part } from './provider.js';
import type { Bundle, Svid } from './svid.js';

function part<T>(initial: T): Part<T> & { set(v: T): void } {
  let value = initial;
  const listeners: (() => void)[] = [];
  return {
    get: () => value,
    onChange: (l) => void listeners.push(l),
    set(v) {
      value = v;
      for (const l of listeners) l();
    },
  };
}

const svid = (notBefore: number, notAfter: number) =>
  ({ serial: `s${notBefore}`, notBefore, notAfter }) as Svid;
const bundle = { pem: 'x', roots: [], sequence: 0 } as Bundle;

describe('composeIdentity', () => {
  it('publishes a new state when either part changes, and only then', () => {
    const s = part<Svid | null>(svid(0, 100));
    const b = part<Bundle | null>(bundle);
    const p = composeIdentity(s, b, () => 50);
    const seen: unknown[] = [];
    p.subscribe((state) => seen.push(state.svid?.serial));
    const next = svid(10, 200);
    s.set(next);
    b.set(bundle);
    expect(seen).toEqual(['s0', 's10']);
    b.set({ ...bundle, pem: 'y' });
    expect(seen).toHaveLength(3);
    expect(p.state().bundle?.pem).toBe('y');
  });

  it('is ready only with a bundle and a certificate valid at the injected time', () => {
    let now = 50;
    const b = part<Bundle | null>(null);
    const p = composeIdentity(part<Svid | null>(svid(0, 100)), b, () => now);
    expect(p.isReady()).toBe(false);
    b.set(bundle);
    expect(p.isReady()).toBe(true);
    now = 100;
    expect(p.isReady()).toBe(false);
  });
});
