// Property tests for the SPIFFE ID parser: random and mutated inputs never crash it, every
// accepted ID is canonical and round-trips, and nothing outside the spec's alphabet gets through.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TetherError } from './errors.js';
import { parseSpiffeId } from './spiffe-id.js';

const tdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_'.split(''));
const segChar = fc.constantFrom(
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_'.split(''),
);
const trustDomain = fc.string({ unit: tdChar, minLength: 1, maxLength: 40 });
const segment = fc
  .string({ unit: segChar, minLength: 1, maxLength: 20 })
  .filter((s) => s !== '.' && s !== '..');
const validId = fc
  .tuple(trustDomain, fc.array(segment, { maxLength: 6 }))
  .map(([td, segs]) => `spiffe://${td}${segs.map((s) => `/${s}`).join('')}`);

/** Parses, returning the canonical text or the TetherError code; anything else thrown fails the test. */
function outcome(input: string): { ok: string } | { code: string } {
  try {
    return { ok: parseSpiffeId(input).toString() };
  } catch (err) {
    if (!(err instanceof TetherError)) throw err;
    return { code: err.code };
  }
}

describe('parseSpiffeId under random input', () => {
  it('accepts every ID built from the spec alphabet and returns it unchanged', () => {
    fc.assert(
      fc.property(validId, (id) => {
        const parsed = parseSpiffeId(id);
        expect(parsed.toString()).toBe(id);
        expect(parseSpiffeId(parsed.toString()).toString()).toBe(id);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but ERR_SPIFFE_ID_INVALID for arbitrary strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 })),
        (s) => {
          const r = outcome(s);
          if ('code' in r) expect(r.code).toBe('ERR_SPIFFE_ID_INVALID');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('accepts a mutated ID only when the result is itself canonical and within the alphabet', () => {
    const mutation = fc.tuple(
      validId,
      fc.nat(),
      fc.string({ unit: 'binary', minLength: 0, maxLength: 3 }),
      fc.nat(3),
    );
    fc.assert(
      fc.property(mutation, ([id, at, insert, cut]) => {
        const i = at % (id.length + 1);
        const mutated = id.slice(0, i) + insert + id.slice(i + cut);
        const r = outcome(mutated);
        if ('ok' in r) {
          expect(r.ok).toBe(mutated);
          expect(mutated).toMatch(/^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/);
          expect(mutated.split('/').slice(3)).not.toContain('..');
          expect(mutated.split('/').slice(3)).not.toContain('.');
        } else {
          expect(r.code).toBe('ERR_SPIFFE_ID_INVALID');
        }
      }),
      { numRuns: 800 },
    );
  });

  it('refuses upper-case, ports, userinfo, queries, fragments and percent-encoding wherever they appear', () => {
    const poison = fc.constantFrom('A', ':8443', 'u@', '?q', '#f', '%2e', ' ', '\n', '\\', '\u00e9');
    fc.assert(
      fc.property(validId, poison, fc.nat(), (id, p, at) => {
        // Insert inside the authority for the upper-case letter (it is legal in paths).
        const authorityEnd = id.indexOf('/', 'spiffe://'.length);
        const end = authorityEnd === -1 ? id.length : authorityEnd;
        const i =
          p === 'A'
            ? 'spiffe://'.length + (at % (end - 'spiffe://'.length + 1))
            : 'spiffe://'.length + (at % (id.length - 'spiffe://'.length + 1));
        expect(outcome(id.slice(0, i) + p + id.slice(i))).toEqual({ code: 'ERR_SPIFFE_ID_INVALID' });
      }),
      { numRuns: 400 },
    );
  });
});
