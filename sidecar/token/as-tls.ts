// Which roots verify the authorization server's HTTPS certificate (`token.caFile`, else the live
// mesh bundle) and which identity we present to it (always the current SVID).
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import type { IdentityState, Svid } from '../identity/svid.js';
import type { AsTls } from './https-json.js';

/**
 * Reads `caFile` once (config time); returns the TLS material for calls made with `svid`,
 * cached until the identity or the roots change.
 */
export function asTlsFor(
  state: () => IdentityState,
  caFile: string | undefined,
): (svid?: Svid | null) => AsTls {
  const fixedRoots = caFile ? readFileSync(caFile, 'utf8') : undefined;
  let cached: { id: Svid | null; ca: string; tls: AsTls } | null = null;
  return (svid) => {
    const s = state();
    const id = svid === undefined ? s.svid : svid;
    const ca = fixedRoots ?? s.bundle?.pem ?? '';
    if (cached?.id !== id || cached.ca !== ca) {
      const secureContext = tls.createSecureContext(id ? { ca, key: id.keyPem, cert: id.chainPem } : { ca });
      cached = { id, ca, tls: { secureContext } };
    }
    return cached.tls;
  };
}
