// A strict DER framing reader for the issuance hot path: splits TLVs (definite, minimal lengths,
// single-byte tags, no trailing bytes) without building an object tree. What the bytes mean is
// decided by the callers, which compare against the schema-based path in their tests.

/** One tag-length-value: `tag`, the whole encoding `[start, end)`, contents `[body, end)`. */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly body: number;
  readonly end: number;
}

export class DerError extends Error {}

/** Reads the TLV at `at`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, at: number, limit: number): Tlv {
  if (at + 2 > limit) throw new DerError('truncated');
  const tag = buf[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not used here');
  let len = buf[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER');
    if (n > 3) throw new DerError('length too large');
    if (body + n > limit) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[body + i]!;
    if (buf[body] === 0 || len < 0x80) throw new DerError('length is not minimally encoded');
    body += n;
  }
  const end = body + len;
  if (end > limit) throw new DerError('truncated contents');
  return { tag, start: at, body, end };
}

/** Reads the only TLV in `[at, limit)`, failing on anything after it. */
export function readOnly(buf: Uint8Array, at: number, limit: number, tag: number): Tlv {
  const t = expectTag(readTlv(buf, at, limit), tag);
  if (t.end !== limit) throw new DerError('trailing bytes');
  return t;
}

/** The TLVs that make up a constructed TLV's contents, in order. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('not a constructed value');
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

export function expectTag(t: Tlv | undefined, tag: number): Tlv {
  if (!t) throw new DerError(`missing element with tag 0x${tag.toString(16)}`);
  if (t.tag !== tag) throw new DerError(`tag 0x${t.tag.toString(16)} where 0x${tag.toString(16)} belongs`);
  return t;
}

/** The contents of a TLV as a view (no copy). */
export function bodyOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.body, t.end);
}

/** The whole encoding of a TLV as a view (no copy). */
export function bytesOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

/** A BIT STRING's contents without the unused-bits octet, which must be 0 (whole octets). */
export function bitStringBytes(buf: Uint8Array, t: Tlv): Uint8Array {
  expectTag(t, 0x03);
  if (t.end === t.body || buf[t.body] !== 0) throw new DerError('BIT STRING with unused bits');
  return buf.subarray(t.body + 1, t.end);
}

/** Contents that must be printable ASCII (IA5String names: URIs, DNS names). */
export function asciiOf(buf: Uint8Array, t: Tlv): string {
  let s = '';
  for (let i = t.body; i < t.end; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e) throw new DerError('name is not printable ASCII');
    s += String.fromCharCode(c);
  }
  return s;
}

/** True when both views hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}

/**
 * Walks every TLV below `t` the way a full BER decoder would, so damage anywhere (including
 * inside ANY fields nobody reads) is refused as malformed: DER framing, constructed only for
 * SEQUENCE/SET and context/application tags, sane primitives (BOOLEAN, NULL, BIT STRING, OID).
 */
export function checkTree(
  buf: Uint8Array,
  t: Tlv,
  depth = 0,
  oid?: (b: Uint8Array, t: Tlv) => unknown,
): void {
  if (depth > 32) throw new DerError('nesting too deep');
  const universal = (t.tag & 0xc0) === 0;
  if (t.tag & 0x20) {
    if (universal && t.tag !== 0x30 && t.tag !== 0x31)
      throw new DerError('constructed encoding of a primitive type');
    for (const c of children(buf, t)) checkTree(buf, c, depth + 1, oid);
    return;
  }
  const len = t.end - t.body;
  if (t.tag === 0x00) throw new DerError('end-of-contents octets are not DER');
  if (t.tag === 0x01 && len !== 1) throw new DerError('BOOLEAN is not one byte');
  if (t.tag === 0x05 && len !== 0) throw new DerError('NULL has contents');
  if (t.tag === 0x02 && len === 0) throw new DerError('empty INTEGER');
  if (t.tag === 0x03 && (len === 0 || buf[t.body]! > 7 || (len === 1 && buf[t.body] !== 0)))
    throw new DerError('bad BIT STRING');
  if (t.tag === 0x06) oid?.(buf, t);
}
