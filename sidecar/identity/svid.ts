// The identity material the sidecar holds and publishes: its X.509-SVID (key + chain) and the
// trust bundle. Immutable values: a change is a new object.

import type { KeyObject } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { certsToPem } from '../../common/pem.js';
import { readSans, serialHex } from '../../common/x509.js';

export interface Svid {
  readonly spiffeId: string;
  readonly serial: string;
  readonly key: KeyObject;
  readonly keyPem: string;
  /** DER, leaf first. */
  readonly chain: readonly Buffer[];
  readonly chainPem: string;
  readonly leaf: X509Certificate;
  readonly notBefore: number;
  readonly notAfter: number;
  /** When we received it (ms): renewal is scheduled from here, not from the backdated notBefore. */
  readonly receivedAt: number;
}

export interface Bundle {
  readonly roots: readonly Buffer[];
  readonly pem: string;
  /** 0 until the CA's WatchTrustBundle stream has told us the sequence. */
  readonly sequence: number;
}

/** What subscribers receive: either may be null while unavailable. */
export interface IdentityState {
  readonly svid: Svid | null;
  readonly bundle: Bundle | null;
}

export function makeSvid(key: KeyObject, chain: readonly Buffer[], receivedAt: number): Svid {
  const leaf = new X509Certificate(chain[0]!);
  const uris = readSans(chain[0]!).uris;
  return {
    spiffeId: uris[0] ?? '',
    serial: serialHex(leaf),
    key,
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    chain,
    chainPem: certsToPem(chain),
    leaf,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    receivedAt,
  };
}

export function makeBundle(roots: readonly Buffer[], sequence: number): Bundle {
  return { roots, pem: certsToPem(roots), sequence };
}

/** True while the certificate is inside its validity window. */
export function isValidAt(svid: Svid, now: number): boolean {
  return now >= svid.notBefore && now < svid.notAfter;
}
