// Outbound peers are authenticated by chain (OpenSSL, against the listener's trust) and then
// either by SPIFFE ID (the server's single URI SAN must equal serverId; host names ignored), or
// for servers outside the mesh by DNS name under web PKI rules (RFC 6125, Node's
// checkServerIdentity) and/or a pinned SubjectPublicKeyInfo hash.
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { readSans } from '../../common/x509.js';

export type ServerCheck = (host: string, cert: tls.PeerCertificate) => Error | undefined;

function mismatch(message: string): Error {
  // One code for every server-identity failure: the HTTP proxy answers 502 server_id_mismatch.
  return Object.assign(new Error(message), { code: 'ERR_TETHER_WRONG_SERVER_ID' });
}

export function serverIdentityCheck(serverId: string): ServerCheck {
  return (_host, cert) => {
    const uris = cert.raw ? readSans(cert.raw).uris : [];
    if (uris.length === 1 && uris[0] === serverId) return undefined;
    return mismatch(`upstream presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${serverId}`);
  };
}

/** base64 SHA-256 of a DER certificate's SubjectPublicKeyInfo (the `serverSpki` pin format). */
export function spkiSha256(raw: Buffer): string {
  const spki = new X509Certificate(raw).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** Web PKI name check and/or SPKI pin, for upstreams identified by `serverName` / `serverSpki`. */
export function webServerCheck(serverName: string | undefined, serverSpki: string | undefined): ServerCheck {
  const pin = serverSpki ? Buffer.from(serverSpki) : null;
  return (_host, cert) => {
    if (serverName) {
      const err = tls.checkServerIdentity(serverName, cert);
      if (err) return mismatch(`upstream certificate is not valid for ${serverName}: ${err.message}`);
    }
    if (pin) {
      const got = Buffer.from(cert.raw ? spkiSha256(cert.raw) : '');
      if (got.length !== pin.length || !timingSafeEqual(got, pin))
        return mismatch(`upstream public key sha256:${got.toString()} does not match the pinned serverSpki`);
    }
    return undefined;
  };
}

/** The check an outbound listener's config asks for. */
export function serverCheckFor(cfg: {
  readonly serverId: string | undefined;
  readonly serverName: string | undefined;
  readonly serverSpki: string | undefined;
}): ServerCheck {
  return cfg.serverId ? serverIdentityCheck(cfg.serverId) : webServerCheck(cfg.serverName, cfg.serverSpki);
}
