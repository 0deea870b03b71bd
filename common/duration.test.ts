import { describe, expect, it } from 'vitest';
import { formatTimeLeft, parseDurationSeconds } from './duration.js';
import { TetherError } from './errors.js';

describe('parseDurationSeconds', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
    ['1h30m', 5400],
    ['1d2h3m4s', 93784],
    ['1.5h', 5400],
    ['1500ms', 2],
    ['400ms', 0],
    ['  10s  ', 10],
  ])('parses %j as %i seconds', (input, seconds) => {
    expect(parseDurationSeconds(input)).toBe(seconds);
  });

  it.each(['', '10', 's', '10x', '1h 30m', '-5s', '1H', '10s!', 'abc', '1.h'])(
    'refuses %j with ERR_CONFIG_INVALID',
    (input) => {
      let caught: unknown;
      try {
        parseDurationSeconds(input);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(TetherError);
      expect((caught as TetherError).code).toBe('ERR_CONFIG_INVALID');
      expect((caught as TetherError).message).toContain(JSON.stringify(input));
    },
  );
});

describe('formatTimeLeft', () => {
  it.each([
    [0, '0s'],
    [59, '59s'],
    [3599, '59m 59s'],
    [3661, '1h 1m'],
    [90061, '1d 1h'],
    [-300, 'expired 5m 0s ago'],
    [12.7, '12s'],
  ])('reads %d seconds as %j', (seconds, text) => {
    expect(formatTimeLeft(seconds)).toBe(text);
  });
});
