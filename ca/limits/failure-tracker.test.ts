import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { type FailurePolicy, FailureTracker } from './failure-tracker.js';

const MIN = 60_000;
const policy: FailurePolicy = { maxFailures: 100, windowMs: MIN, blockMs: 5 * MIN, maxKeys: 1000 };

function setup(p: FailurePolicy = policy) {
  const clock = new ManualClock(10_000_000);
  return { clock, tracker: new FailureTracker(p, clock) };
}

function fail(tracker: FailureTracker, key: string, times: number): boolean[] {
  return Array.from({ length: times }, () => tracker.recordFailure(key));
}

describe('FailureTracker', () => {
  it('does not block a key that has not failed', () => {
    const { tracker } = setup();
    expect(tracker.blockedFor('10.0.0.1')).toBe(0);
    expect(tracker.blocked()).toEqual([]);
  });

  it('blocks a key for 5 minutes on its 100th failure within 60 s', () => {
    const { clock, tracker } = setup();
    const results = [];
    for (let i = 0; i < 100; i++) {
      results.push(tracker.recordFailure('10.0.0.1'));
      clock.advance(500); // 100 failures over 50 s
    }
    expect(results.slice(0, 99).every((r) => r === false)).toBe(true);
    expect(results[99]).toBe(true);
    expect(tracker.blockedFor('10.0.0.1')).toBe(5 * MIN - 500);
  });

  it('does not block after 99 failures', () => {
    const { tracker } = setup();
    fail(tracker, '10.0.0.1', 99);
    expect(tracker.blockedFor('10.0.0.1')).toBe(0);
  });

  it('does not count failures that fell out of the 60 s window', () => {
    const { clock, tracker } = setup();
    fail(tracker, '10.0.0.1', 50);
    clock.advance(MIN);
    expect(fail(tracker, '10.0.0.1', 99).some(Boolean)).toBe(false);
    expect(tracker.blockedFor('10.0.0.1')).toBe(0);
    expect(tracker.recordFailure('10.0.0.1')).toBe(true);
  });

  it('counts a failure just inside the window', () => {
    const { clock, tracker } = setup();
    fail(tracker, '10.0.0.1', 1);
    clock.advance(MIN - 1);
    expect(fail(tracker, '10.0.0.1', 99).at(-1)).toBe(true);
  });

  it('lets the block expire after 5 minutes', () => {
    const { clock, tracker } = setup();
    fail(tracker, '10.0.0.1', 100);
    clock.advance(5 * MIN - 1);
    expect(tracker.blockedFor('10.0.0.1')).toBe(1);
    clock.advance(1);
    expect(tracker.blockedFor('10.0.0.1')).toBe(0);
    expect(tracker.blocked()).toEqual([]);
  });

  it('starts counting afresh after a block', () => {
    const { clock, tracker } = setup();
    fail(tracker, '10.0.0.1', 100);
    clock.advance(5 * MIN);
    expect(tracker.recordFailure('10.0.0.1')).toBe(false);
    expect(tracker.blockedFor('10.0.0.1')).toBe(0);
  });

  it('does not extend a block with failures during it', () => {
    const { clock, tracker } = setup();
    fail(tracker, '10.0.0.1', 100);
    clock.advance(MIN);
    expect(fail(tracker, '10.0.0.1', 150).some(Boolean)).toBe(false);
    expect(tracker.blockedFor('10.0.0.1')).toBe(4 * MIN);
  });

  it('blocks one key without blocking another', () => {
    const { clock, tracker } = setup();
    fail(tracker, '10.0.0.1', 100);
    fail(tracker, '10.0.0.2', 99);
    expect(tracker.blockedFor('10.0.0.2')).toBe(0);
    expect(tracker.blocked()).toEqual([{ key: '10.0.0.1', until: clock.now() + 5 * MIN }]);
  });

  it('keeps at most maxKeys keys, evicting the least recently failed unblocked key', () => {
    const { tracker } = setup({ maxFailures: 3, windowMs: MIN, blockMs: 5 * MIN, maxKeys: 2 });
    fail(tracker, 'a', 2);
    fail(tracker, 'b', 2);
    fail(tracker, 'c', 1); // evicts 'a'
    // 'a' starts from zero: one more failure does not block it, while 'b' blocks on its third.
    expect(tracker.recordFailure('b')).toBe(true);
    expect(tracker.recordFailure('a')).toBe(false);
  });

  it('evicts unblocked keys before blocked ones so a flood of new keys cannot lift a block', () => {
    const { tracker } = setup({ maxFailures: 2, windowMs: MIN, blockMs: 5 * MIN, maxKeys: 3 });
    fail(tracker, 'attacker', 2);
    for (let i = 0; i < 100; i++) tracker.recordFailure(`spoof-${i}`);
    expect(tracker.blockedFor('attacker')).toBe(5 * MIN);
  });

  it('drops the oldest key when every tracked key is blocked', () => {
    const { tracker } = setup({ maxFailures: 1, windowMs: MIN, blockMs: 5 * MIN, maxKeys: 2 });
    tracker.recordFailure('a');
    tracker.recordFailure('b');
    tracker.recordFailure('c');
    expect(tracker.blockedFor('a')).toBe(0);
    expect(tracker.blockedFor('b')).toBe(5 * MIN);
    expect(tracker.blockedFor('c')).toBe(5 * MIN);
    expect(tracker.blocked().map((b) => b.key)).toEqual(['b', 'c']);
  });
});
