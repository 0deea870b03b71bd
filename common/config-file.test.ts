import { describe, expect, it } from 'vitest';
import { setPath } from './config-file.js';
import { TetherError } from './errors.js';

describe('setPath', () => {
  it('sets a nested dotted key, creating the objects on the way', () => {
    const target: Record<string, unknown> = {};
    setPath(target, 'ca.address', '127.0.0.1:8443');
    expect(target).toEqual({ ca: { address: '127.0.0.1:8443' } });
  });

  it('refuses __proto__ so a flag cannot pollute Object.prototype (found by a property test)', () => {
    expect(() => setPath({}, '__proto__.polluted', 'yes')).toThrow(TetherError);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
