// tls_client_auth (RFC 8705 §2.1): the client is the SPIFFE ID of a client certificate that
// verified against the mesh trust bundle during the handshake. The TLS server only requests a
// certificate, so everything about it is checked here.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { TetherError } from '../../common/errors.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import { readSans, serialHex } from '../../common/x509.js';
import type { Store } from '../store/store.js';

/** What the TLS layer says about the caller's certificate. */
export interface PresentedCertificate {
  /** The handshake verified the chain against the bundle (`socket.authorized`). */
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  /** DER of the presented leaf, or null when none was sent. */
  readonly leafDer: Buffer | null;
}

/** An authenticated client. */
export interface Client {
  readonly spiffeId: string;
  readonly leafDer: Buffer;
  readonly serial: string;
}

function refuse(message: string, cause?: unknown): TetherError {
  return new TetherError('ERR_CLIENT_AUTH_FAILED', message, cause === undefined ? undefined : { cause });
}

/** Reads the presented certificate off a TLS socket. */
export function presentedCertificate(socket: TLSSocket): PresentedCertificate {
  const raw = socket.getPeerCertificate?.(false)?.raw;
  const err = socket.authorizationError;
  return {
    authorized: socket.authorized,
    authorizationError: err ? String(err) : null,
    leafDer: raw && raw.length > 0 ? raw : null,
  };
}

/** Authenticates the caller or throws ERR_CLIENT_AUTH_FAILED (→ invalid_client). */
export async function authenticateClient(
  presented: PresentedCertificate,
  trustDomain: string,
  store: Store,
): Promise<Client> {
  if (!presented.leafDer) throw refuse('a client certificate is required (tls_client_auth)');
  if (!presented.authorized)
    throw refuse(
      'the client certificate does not verify against the trust bundle',
      presented.authorizationError,
    );
  const uris = readSans(presented.leafDer).uris;
  if (uris.length !== 1 || !uris[0]) throw refuse('the client certificate must have exactly one URI SAN');
  let spiffeId: string;
  try {
    const id = parseSpiffeId(uris[0]);
    if (id.trustDomain !== trustDomain || id.path === '') throw new Error(`not a workload of ${trustDomain}`);
    spiffeId = id.toString();
  } catch (err) {
    throw refuse('the client certificate does not name a workload of this trust domain', err);
  }
  const serial = serialHex(new X509Certificate(presented.leafDer));
  if (await store.isDenied(spiffeId, serial)) throw refuse('the client identity or certificate is denied');
  return { spiffeId, leafDer: presented.leafDer, serial };
}
