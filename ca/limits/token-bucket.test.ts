import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst of `burst` requests, then refuses with the wait until the next token', () => {
    const clock = new ManualClock(1_000_000);
    const bucket = new TokenBucket(2, 5, clock);
    for (let i = 0; i < 5; i++) expect(bucket.take()).toBe(0);
    // Empty bucket at 2 tokens/s: the next token is 500 ms away.
    expect(bucket.take()).toBe(500);
  });

  it('reports a shrinking wait as time passes', () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(1, 1, clock);
    expect(bucket.take()).toBe(0);
    expect(bucket.take()).toBe(1000);
    clock.advance(300);
    expect(bucket.take()).toBe(700);
  });

  it('refills at the sustained rate', () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(10, 10, clock);
    for (let i = 0; i < 10; i++) bucket.take();
    expect(bucket.take()).toBeGreaterThan(0);
    clock.advance(300);
    // 300 ms at 10/s = 3 tokens.
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
    expect(bucket.take()).toBeGreaterThan(0);
  });

  it('never holds more than `burst` tokens however long it idles', () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(100, 3, clock);
    clock.advance(3_600_000);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([0, 0, 0]);
    expect(bucket.take()).toBeGreaterThan(0);
  });

  it('does not count refused requests against later ones', () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(1, 1, clock);
    bucket.take();
    for (let i = 0; i < 50; i++) expect(bucket.take()).toBeGreaterThan(0);
    clock.advance(1000);
    expect(bucket.take()).toBe(0);
  });

  it('rounds a fractional wait up to a whole millisecond', () => {
    const clock = new ManualClock(0);
    const bucket = new TokenBucket(3, 1, clock);
    bucket.take();
    expect(bucket.take()).toBe(334);
  });
});
