import { describe, expect, it } from 'vitest';
import { type ActivityEvent, ActivityLog } from './activity.js';

const event = (at: number): ActivityEvent => ({
  at,
  outcome: 'issued',
  spiffeId: `spiffe://example.org/w${at}`,
  peer: '127.0.0.1:1',
  attestor: 'join_token',
  serial: 'ab',
  notAfter: at + 1000,
  code: null,
  message: null,
});

describe('ActivityLog', () => {
  it('returns events newest first', () => {
    const log = new ActivityLog(5);
    for (const at of [1, 2, 3]) log.record(event(at));
    expect(log.recent().map((e) => e.at)).toEqual([3, 2, 1]);
  });

  it('keeps only the last `capacity` events, dropping the oldest', () => {
    const log = new ActivityLog(3);
    for (let at = 1; at <= 10; at++) log.record(event(at));
    expect(log.recent().map((e) => e.at)).toEqual([10, 9, 8]);
  });

  it('stays bounded under many events', () => {
    const log = new ActivityLog();
    for (let at = 0; at < 1000; at++) log.record(event(at));
    expect(log.recent()).toHaveLength(100);
    expect(log.recent()[0]!.at).toBe(999);
  });

  it('starts empty and rejects a capacity below one', () => {
    expect(new ActivityLog(2).recent()).toEqual([]);
    expect(() => new ActivityLog(0)).toThrow(RangeError);
  });
});
