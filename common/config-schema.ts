// Schema pieces both config files use: durations as strings ("90s", "1h") and host:port pairs.
import * as z from 'zod';
import { parseDurationMs } from './duration.js';

/** A duration string; parsed to a number once, after validation. */
export const durationString = z.string().refine(
  (s) => {
    try {
      parseDurationMs(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a duration like "500ms", "90s", "15m", "1h" or "7d"' },
);

/** host:port with a port in range; IPv6 hosts in brackets. */
export function hostPortString(example: string) {
  return z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, `expected host:port, e.g. ${example}`)
    .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, {
      message: 'expected host:port with a port ≤ 65535',
    });
}
