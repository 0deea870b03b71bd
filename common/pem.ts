// PEM <-> DER for certificates. Keys are never handled here: they stay KeyObjects.
import { TetherError } from './errors.js';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Encodes DER as one PEM block with 64-column lines. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Extracts every block with the given label, in order. Throws if there is none. */
export function fromPem(text: string, label = 'CERTIFICATE'): Buffer[] {
  const out: Buffer[] = [];
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] === label) out.push(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
  }
  if (out.length === 0) throw new TetherError('ERR_CONFIG_INVALID', `no "${label}" PEM block found`);
  return out;
}

/** Joins DER certificates into one PEM bundle. */
export function certsToPem(ders: readonly Uint8Array[]): string {
  return ders.map((d) => toPem(d)).join('');
}
