// OBJECT IDENTIFIER contents to dotted form, for the DER hot path (der-reader.ts).
import { DerError, type Tlv } from './der-reader.js';

/** Dotted OID of an OBJECT IDENTIFIER TLV; refuses non-minimal or truncated arcs. */
export function oidOf(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06 || t.end === t.body) throw new DerError('not an OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  let fresh = true;
  for (let i = t.body; i < t.end; i++) {
    const b = buf[i]!;
    if (fresh && b === 0x80) throw new DerError('OID arc is not minimally encoded');
    if (value > 0x1fffffffffff) throw new DerError('OID arc too large');
    value = value * 128 + (b & 0x7f);
    fresh = (b & 0x80) === 0;
    if (fresh) {
      arcs.push(value);
      value = 0;
    }
  }
  if (!fresh) throw new DerError('OID is truncated');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}
