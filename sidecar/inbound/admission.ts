// Decides, once per connection right after the handshake, whether an inbound peer may talk to
// the workload: a certificate that verified against the bundle, an X.509-SVID, an allowed ID.
// Refusals are counted and logged with the reason.
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { InboundConfig } from '../config/load.js';
import { type PeerIdentity, peerIdentityOf } from '../tls/contexts.js';
import type { AllowList } from './allow.js';

export type Admission =
  | { readonly ok: true; readonly peer: PeerIdentity }
  | {
      readonly ok: false;
      readonly reason: string;
      readonly status: 'handshake' | 'forbidden';
      readonly peerId?: string;
    };

/** Verifies the peer of a freshly handshaken socket and checks it against the allow list. */
export function admit(socket: TLSSocket, allow: AllowList, ready: () => boolean): Admission {
  if (!ready()) return { ok: false, reason: 'sidecar_not_ready', status: 'handshake' };
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw) return { ok: false, reason: 'no_client_certificate', status: 'handshake' };
  if (!socket.authorized) {
    return {
      ok: false,
      reason: String(socket.authorizationError ?? 'unverified').toLowerCase(),
      status: 'handshake',
    };
  }
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
