// Decides, once per connection right after the handshake, whether an inbound peer may talk to
// the workload: a certificate that verified against the bundle, an X.509-SVID, an allowed ID.
// Refusals are counted and logged with the reason.
import { createHash, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { InboundConfig } from '../config/load.js';
import { checkRule, type Psd2AllowConfig } from '../psd2/psd2-allow.js';
import { type PeerIdentity, peerIdentityOf } from '../tls/contexts.js';
import type { AllowList } from './allow.js';
import { type Psd2Peer, psd2PeerOf } from './psd2-peer.js';

export type Admission =
  | { readonly ok: true; readonly peer: PeerIdentity & { readonly psd2?: Psd2Peer } }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly status: 'handshake' | 'forbidden';
      readonly peerId?: string;
      /** Safe to show the caller (PSD2 refusals say which role or organization is missing). */
      readonly description?: string;
    };

/** PSD2 mode: any certificate that verified against the listener's trust; rules on its facts. */
export interface Psd2Admission {
  readonly allow: Psd2AllowConfig;
  /** TCP: apply the listener rule now (HTTP applies it per request, by path). */
  readonly checkNow: boolean;
}

function admitPsd2(raw: Buffer, sha256: string, p: Psd2Admission): Admission {
  const psd2 = psd2PeerOf(raw);
  if ('error' in psd2) return { ok: false, reason: psd2.error, status: 'handshake' };
  const peerId = psd2.facts.organizationId ?? '';
  const refusal = p.checkNow ? checkRule(p.allow, psd2.facts) : null;
  if (refusal) return { ok: false, status: 'forbidden', peerId, ...refusal };
  return { ok: true, peer: { spiffeId: peerId, certSha256: sha256, psd2 } };
}

/** Verifies the peer of a freshly handshaken socket and checks it against the allow list. */
/** Listener features beyond SPIFFE admission. */
export interface AdmitOptions {
  readonly psd2?: Psd2Admission | undefined;
  /** FAPI: peers' RSA keys must have 2048 bits or more (OpenSSL only says "unspecified"). */
  readonly fapi?: boolean;
}

/** The FAPI key-size rule for a peer certificate: RSA ≥ 2048 bits. */
function peerKeyTooSmall(raw: Buffer): boolean {
  const key = new X509Certificate(raw).publicKey;
  const bits = key.asymmetricKeyDetails?.modulusLength;
  return (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') && (bits ?? 0) < 2048;
}

export function admit(
  socket: TLSSocket,
  allow: AllowList,
  ready: () => boolean,
  o: AdmitOptions = {},
): Admission {
  const psd2 = o.psd2;
  if (!ready()) return { ok: false, reason: 'sidecar_not_ready', status: 'handshake' };
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw) return { ok: false, reason: 'no_client_certificate', status: 'handshake' };
  if (o.fapi && peerKeyTooSmall(raw)) return { ok: false, reason: 'peer_key_too_small', status: 'handshake' };
  if (!socket.authorized) {
    return {
      ok: false,
      reason: String(socket.authorizationError ?? 'unverified').toLowerCase(),
      status: 'handshake',
    };
  }
  if (psd2) return admitPsd2(raw, createHash('sha256').update(raw).digest('hex'), psd2);
  const peer = peerIdentityOf(raw);
  if ('error' in peer) {
    const reason = peer.error.endsWith('is a CA') ? 'peer_is_ca' : 'not_an_svid';
    return { ok: false, reason, status: 'handshake' };
  }
  if (!allow(peer.spiffeId))
    return { ok: false, reason: 'spiffe_id_not_allowed', status: 'forbidden', peerId: peer.spiffeId };
  return { ok: true, peer };
}

/** Records a handshake/admission outcome in metrics and, for refusals, one log line. */
export function recordAdmission(
  a: Admission,
  cfg: InboundConfig,
  metrics: SidecarMetrics,
  log: Logger,
  remote: string | undefined,
): void {
  if (a.ok) {
    metrics.handshakes.inc({ direction: 'inbound', listener: cfg.name, result: 'ok', reason: '' });
    return;
  }
  if (a.status === 'forbidden') {
    metrics.handshakes.inc({ direction: 'inbound', listener: cfg.name, result: 'ok', reason: '' });
    metrics.authzDenied.inc({ listener: cfg.name, reason: a.reason });
    log.warn(
      { listener: cfg.name, peer: remote, peerId: a.peerId, reason: a.reason },
      'inbound peer not allowed',
    );
    return;
  }
  metrics.handshakes.inc({ direction: 'inbound', listener: cfg.name, result: 'refused', reason: a.reason });
  log.warn({ listener: cfg.name, peer: remote, reason: a.reason }, 'inbound connection refused');
}
