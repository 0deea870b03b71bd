// Small DER encoders for the leaf fast path (leaf-der.ts): a TLV around pre-encoded parts, and
// the few primitive values a leaf varies in. Everything else comes pre-encoded from the
// @peculiar/asn1-x509 schemas; leaf-der.test.ts checks the result byte for byte against them.

function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

/** tag ‖ length ‖ parts, in one allocation. */
export function tlv(tag: number, parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.byteLength;
  const head = [tag, ...lengthOctets(len)];
  const out = Buffer.allocUnsafe(head.length + len);
  out.set(head, 0);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A primitive string TLV (IA5String-based GeneralNames): printable ASCII only. */
export function asciiTlv(tag: number, text: string): Buffer {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new RangeError('name is not printable ASCII');
  return tlv(tag, [Buffer.from(text, 'latin1')]);
}

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/**
 * RFC 5280 §4.1.2.5 Time at whole seconds: UTCTime (YYMMDDHHMMSSZ) through 2049, then
 * GeneralizedTime (YYYYMMDDHHMMSSZ), as the asn1-x509 Time schema chooses.
 */
export function derTime(ms: number): Buffer {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
  return year > 2049
    ? tlv(0x18, [Buffer.from(`${year}${rest}`, 'latin1')])
    : tlv(0x17, [Buffer.from(`${two(year % 100)}${rest}`, 'latin1')]);
}
