import { describe, expect, it } from 'vitest';
import { BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoffMs, renewAtMs } from './schedule.js';

const fixed = (v: number) => () => v;
const received = Date.UTC(2030, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;

describe('renewAtMs', () => {
  it('renews at exactly half-life when the jitter is centred', () => {
    expect(renewAtMs(received, received + HOUR, fixed(0.5))).toBe(received + HOUR / 2);
  });

  it('renews at 40 % of the life with the lowest jitter', () => {
    expect(renewAtMs(received, received + HOUR, fixed(0))).toBeCloseTo(received + 0.4 * HOUR, 3);
  });

  it('renews just under 60 % of the life with the highest jitter', () => {
    const at = renewAtMs(received, received + HOUR, fixed(0.999_999));
    expect(at).toBeLessThan(received + 0.6 * HOUR);
    expect(at).toBeGreaterThan(received + 0.599 * HOUR);
  });

  it('stays within half-life ± 10 % for any random value', () => {
    for (let i = 0; i < 100; i++) {
      const r = i / 100;
      const at = renewAtMs(received, received + HOUR, fixed(r));
      expect(at).toBeGreaterThanOrEqual(received + 0.4 * HOUR - 1e-6);
      expect(at).toBeLessThan(received + 0.6 * HOUR);
    }
  });

  it('measures the life from receipt, not from an earlier notBefore', () => {
    const later = received + 10 * 60_000;
    expect(renewAtMs(later, received + HOUR, fixed(0.5))).toBe(later + (HOUR - 10 * 60_000) / 2);
  });

  it('renews at once when the certificate was already expired on receipt', () => {
    expect(renewAtMs(received, received - 1000, fixed(0.5))).toBe(received);
  });
});

describe('backoffMs', () => {
  it('starts at the base and doubles each attempt with centred jitter', () => {
    expect(backoffMs(1, fixed(0.5))).toBe(BACKOFF_BASE_MS);
    expect(backoffMs(2, fixed(0.5))).toBe(2 * BACKOFF_BASE_MS);
    expect(backoffMs(3, fixed(0.5))).toBe(4 * BACKOFF_BASE_MS);
    expect(backoffMs(4, fixed(0.5))).toBe(8 * BACKOFF_BASE_MS);
  });

  it('treats attempt 0 or below like the first attempt', () => {
    expect(backoffMs(0, fixed(0.5))).toBe(BACKOFF_BASE_MS);
    expect(backoffMs(-3, fixed(0.5))).toBe(BACKOFF_BASE_MS);
  });

  it('is capped at 30 s by default', () => {
    expect(BACKOFF_CAP_MS).toBe(30_000);
    expect(backoffMs(7, fixed(0.5))).toBe(30_000);
    expect(backoffMs(20, fixed(0.5))).toBe(30_000);
    expect(backoffMs(10_000, fixed(0.5))).toBe(30_000);
  });

  it('honours a caller-supplied cap', () => {
    expect(backoffMs(5, fixed(0.5), 3000)).toBe(3000);
    expect(backoffMs(2, fixed(0.5), 3000)).toBe(1000);
  });

  it('jitters by ± 20 % around the raw delay', () => {
    expect(backoffMs(3, fixed(0))).toBe(1600);
    expect(backoffMs(3, fixed(0.999_999))).toBeLessThanOrEqual(2400);
    expect(backoffMs(3, fixed(0.999_999))).toBeGreaterThan(2399);
    expect(backoffMs(20, fixed(0))).toBe(24_000);
    expect(backoffMs(20, fixed(0.999_999))).toBeLessThanOrEqual(36_000);
  });

  it('stays within the jitter bounds for any random value', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const raw = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
      for (let i = 0; i < 20; i++) {
        const wait = backoffMs(attempt, fixed(i / 20));
        expect(wait).toBeGreaterThanOrEqual(Math.round(raw * 0.8));
        expect(wait).toBeLessThanOrEqual(Math.round(raw * 1.2));
        expect(Number.isInteger(wait)).toBe(true);
      }
    }
  });
});
