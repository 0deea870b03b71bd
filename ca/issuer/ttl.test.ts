import { describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { MIN_TTL_SECONDS, resolveTtlSeconds } from './ttl.js';

const policy = { defaultTtlSeconds: 3600, maxTtlSeconds: 86400 };

function refusal(fn: () => unknown): TetherError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error('expected a refusal');
}

describe('resolveTtlSeconds', () => {
  it('gives the default TTL when 0 is requested', () => {
    expect(resolveTtlSeconds(0, policy, null)).toBe(3600);
  });

  it('grants a TTL between the minimum and the maximum as requested', () => {
    expect(resolveTtlSeconds(600, policy, null)).toBe(600);
    expect(resolveTtlSeconds(86400, policy, null)).toBe(86400);
  });

  it('clamps a TTL above the maximum to the maximum', () => {
    expect(resolveTtlSeconds(86401, policy, null)).toBe(86400);
    expect(resolveTtlSeconds(10 * 86400, policy, null)).toBe(86400);
  });

  it('accepts exactly the 10 s minimum', () => {
    expect(MIN_TTL_SECONDS).toBe(10);
    expect(resolveTtlSeconds(10, policy, null)).toBe(10);
  });

  it('refuses a TTL below 10 s with ERR_TTL_TOO_SHORT', () => {
    for (const ttl of [1, 9, 9.5]) {
      const err = refusal(() => resolveTtlSeconds(ttl, policy, null));
      expect(err.code).toBe('ERR_TTL_TOO_SHORT');
      expect(err.message).toContain('10');
    }
  });

  it('applies the attested maximum when it is below the policy maximum', () => {
    expect(resolveTtlSeconds(7200, policy, 1800)).toBe(1800);
  });

  it('caps the default by the attested maximum', () => {
    expect(resolveTtlSeconds(0, policy, 600)).toBe(600);
  });

  it('ignores an attested maximum above the policy maximum', () => {
    expect(resolveTtlSeconds(200_000, policy, 172_800)).toBe(86400);
  });

  it('still refuses a too-short TTL when an attested maximum is set', () => {
    expect(refusal(() => resolveTtlSeconds(5, policy, 600)).code).toBe('ERR_TTL_TOO_SHORT');
  });

  it('caps the default by the policy maximum when the default is larger', () => {
    expect(resolveTtlSeconds(0, { defaultTtlSeconds: 7200, maxTtlSeconds: 3600 }, null)).toBe(3600);
  });
});
