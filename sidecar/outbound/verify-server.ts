// Outbound peers are authenticated by chain (OpenSSL, against the bundle) and then by SPIFFE
// ID: the server's single URI SAN must equal the listener's serverId. Host names are ignored.
import type tls from 'node:tls';
import { readSans } from '../../common/x509.js';

export function serverIdentityCheck(
  serverId: string,
): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const uris = cert.raw ? readSans(cert.raw).uris : [];
    if (uris.length === 1 && uris[0] === serverId) return undefined;
    const err = new Error(`upstream presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${serverId}`);
    return Object.assign(err, { code: 'ERR_TETHER_WRONG_SERVER_ID' });
  };
}
