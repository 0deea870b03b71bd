// TLS settings for the mesh data path, built once per identity/bundle change: TLS 1.3 by
// default; when 1.2 is allowed, only ECDHE key exchange with AEAD ciphers. Peers are identified
// by the SPIFFE ID in their verified certificate, never by host name.
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { assertsCa, readSans } from '../../common/x509.js';
import type { IdentityState } from '../identity/svid.js';

/** TLS 1.2 suites allowed when a listener lowers its minimum: forward-secret AEAD only. */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** Options for a TLS server or client context holding our identity and trusting the bundle. */
export function contextOptions(
  state: IdentityState,
  minVersion: TlsVersion,
): tls.SecureContextOptions | null {
  if (!state.svid || !state.bundle) return null;
  return {
    key: state.svid.keyPem,
    cert: state.svid.chainPem,
    ca: state.bundle.pem,
    minVersion,
    ...(minVersion === 'TLSv1.2' ? { ciphers: TLS12_CIPHERS } : {}),
  };
}

/** A client-side context (one per change, reused by every outbound connection). */
export function clientContext(state: IdentityState, minVersion: TlsVersion): tls.SecureContext | null {
  const options = contextOptions(state, minVersion);
  return options ? tls.createSecureContext(options) : null;
}

export interface PeerIdentity {
  readonly spiffeId: string;
  /** Lowercase hex SHA-256 of the peer's DER leaf (Envoy's XFCC Hash). */
  readonly certSha256: string;
}

/**
 * The SPIFFE ID of a verified peer certificate per the X509-SVID rules: not a CA, exactly one
 * URI SAN with the spiffe scheme. Returns a reason string when the certificate is not an SVID.
 */
export function peerIdentityOf(raw: Buffer | undefined): PeerIdentity | { error: string } {
  if (!raw || raw.length === 0) return { error: 'no client certificate' };
  const cert = new X509Certificate(raw);
  if (cert.ca || assertsCa(raw)) return { error: 'peer certificate is a CA' };
  const uris = readSans(raw).uris;
  if (uris.length !== 1 || !uris[0]!.startsWith('spiffe://'))
    return { error: 'peer certificate has no single SPIFFE ID' };
  return { spiffeId: uris[0]!, certSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase() };
}
