// Durations in config and flags are strings ("90s", "1h", "7d"), parsed once at start.
import { TetherError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "1h30m"-style durations (one or more number+unit parts) into whole seconds. */
export function parseDurationSeconds(input: string): number {
  return Math.round(parseDurationMs(input) / 1000);
}

/** Parses a duration into whole milliseconds (for sub-second settings such as check intervals). */
export function parseDurationMs(input: string): number {
  const text = input.trim();
  const parts = text.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g);
  if (!parts || parts.join('') !== text) {
    throw new TetherError(
      'ERR_CONFIG_INVALID',
      `"${input}" is not a duration (expected e.g. "90s", "15m", "1h", "7d")`,
    );
  }
  let seconds = 0;
  for (const part of parts) {
    const m = DURATION.exec(part)!;
    seconds += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  }
  return Math.round(seconds * 1000);
}

/** A rough human reading of a time left, two units at most: "3d 4h", "59m 12s", "expired 5m ago". */
export function formatTimeLeft(seconds: number): string {
  const abs = Math.abs(Math.trunc(seconds));
  const units = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const;
  const parts: string[] = [];
  let rest = abs;
  for (const [unit, size] of units) {
    if (parts.length === 2) break;
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0 || parts.length > 0 || size === 1) parts.push(`${n}${unit}`);
  }
  const text = parts.join(' ');
  return seconds < 0 ? `expired ${text} ago` : text;
}
