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

/**
 * FAPI 1.0 Advanced §8.5: TLS 1.2 only with exactly these suites (TLS 1.3 keeps its defaults).
 * @SECLEVEL=2 makes OpenSSL refuse RSA/DH keys under 2048 bits, ours and the peer's.
 */
export const FAPI_TLS12_CIPHERS = [
  'DHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'DHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
].join(':');

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';
export type TlsProfile = 'mesh' | 'fapi';

function profileOptions(minVersion: TlsVersion, profile: TlsProfile): tls.SecureContextOptions {
  if (profile === 'fapi') return { ciphers: `${FAPI_TLS12_CIPHERS}:@SECLEVEL=2`, dhparam: 'auto' };
  return minVersion === 'TLSv1.2' ? { ciphers: TLS12_CIPHERS } : {};
}

/** Why our certificate cannot serve a FAPI listener (its TLS 1.2 suites are RSA-only), or null. */
export function fapiKeyProblem(state: IdentityState): string | null {
  const key = state.svid?.key;
  if (!key) return null;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && bits >= 2048) return null;
  return `the fapi profile needs an RSA key of 2048 bits or more, the certificate has ${key.asymmetricKeyType ?? 'unknown'}${bits ? `-${bits}` : ''}`;
}

/** Options for a TLS server or client context holding our identity and trusting the bundle. */
export function contextOptions(
  state: IdentityState,
  minVersion: TlsVersion,
  profile: TlsProfile = 'mesh',
): tls.SecureContextOptions | null {
  if (!state.svid || !state.bundle) return null;
  return {
    key: state.svid.keyPem,
    cert: state.svid.chainPem,
    ca: state.bundle.pem,
    minVersion,
    ...profileOptions(minVersion, profile),
  };
}

/** A client-side context (one per change, reused by every outbound connection). */
export function clientContext(
  state: IdentityState,
  minVersion: TlsVersion,
  profile: TlsProfile = 'mesh',
): tls.SecureContext | null {
  const options = contextOptions(state, minVersion, profile);
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
  // The answer depends on the DER bytes alone, and peers present the same certificate on every
  // connection: remember it rather than parse the certificate (twice, in ASN.1) per handshake.
  const key = raw.toString('latin1');
  const known = identities.get(key);
  if (known) return known;
  const identity = parsePeerIdentity(raw);
  if (identities.size >= IDENTITY_CACHE_SIZE) identities.clear();
  identities.set(key, identity);
  return identity;
}

/** Peer identities by certificate DER; bounded (cleared when full), as peers rotate certificates. */
const identities = new Map<string, PeerIdentity | { error: string }>();
const IDENTITY_CACHE_SIZE = 1024;

function parsePeerIdentity(raw: Buffer): PeerIdentity | { error: string } {
  const cert = new X509Certificate(raw);
  if (cert.ca || assertsCa(raw)) return { error: 'peer certificate is a CA' };
  const uris = readSans(raw).uris;
  if (uris.length !== 1 || !uris[0]!.startsWith('spiffe://'))
    return { error: 'peer certificate has no single SPIFFE ID' };
  return { spiffeId: uris[0]!, certSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase() };
}
