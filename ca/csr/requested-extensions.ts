// What a CSR's extensionRequest attribute asks for: SANs (URI, DNS, IP) and basicConstraints
// CA:true. Other extensions are ignored (the CA decides them). Strict DER framing, no tree.
import { asciiOf, bodyOf, children, DerError, expectTag, readOnly, type Tlv } from './der-reader.js';
import { oidOf } from './oid.js';

const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';
/** GeneralName tags (RFC 5280 §4.2.1.6), context-specific, as they appear on the wire. */
const GENERAL_NAME_TAGS = new Set([0xa0, 0x81, 0x82, 0xa3, 0xa4, 0xa5, 0x86, 0x87, 0x88]);

export interface RequestedExtensions {
  requestedUris: string[];
  requestedDnsNames: string[];
  requestedIpAddresses: string[];
  requestsCa: boolean;
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return b.join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
    return groups.join(':');
  }
  throw new DerError('iPAddress is neither 4 nor 16 bytes');
}

function readSan(der: Uint8Array, value: Tlv, out: RequestedExtensions): void {
  const names = readOnly(der, value.body, value.end, 0x30);
  for (const n of children(der, names)) {
    if (!GENERAL_NAME_TAGS.has(n.tag)) throw new DerError('unknown GeneralName');
    if (n.tag === 0x86) out.requestedUris.push(asciiOf(der, n));
    else if (n.tag === 0x82) out.requestedDnsNames.push(asciiOf(der, n));
    else if (n.tag === 0x87) out.requestedIpAddresses.push(ipText(bodyOf(der, n)));
  }
}

function readBasicConstraints(der: Uint8Array, value: Tlv): boolean {
  const seq = readOnly(der, value.body, value.end, 0x30);
  const [first] = children(der, seq);
  if (first?.tag !== 0x01) return false; // cA absent: DEFAULT FALSE
  if (first.end - first.body !== 1) throw new DerError('BOOLEAN is not one byte');
  return der[first.body] !== 0;
}

/** Reads an Extensions value (SEQUENCE OF Extension), or nothing when absent. */
export function readExtensionRequest(value: Uint8Array | undefined): RequestedExtensions {
  const out: RequestedExtensions = {
    requestedUris: [],
    requestedDnsNames: [],
    requestedIpAddresses: [],
    requestsCa: false,
  };
  if (!value) return out;
  for (const e of children(value, readOnly(value, 0, value.byteLength, 0x30))) {
    const parts = children(value, expectTag(e, 0x30));
    const id = oidOf(value, expectTag(parts[0], 0x06));
    const hasCritical = parts[1]?.tag === 0x01;
    if (parts.length !== (hasCritical ? 3 : 2)) throw new DerError('extension has the wrong shape');
    const extnValue = expectTag(parts[hasCritical ? 2 : 1], 0x04);
    if (id === SUBJECT_ALT_NAME) readSan(value, extnValue, out);
    else if (id === BASIC_CONSTRAINTS) out.requestsCa = readBasicConstraints(value, extnValue);
  }
  return out;
}
