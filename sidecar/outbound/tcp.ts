// Outbound TCP mode: accept plaintext on loopback, originate mTLS to the upstream sidecar with
// the current identity, verify the server's SPIFFE ID, then pipe bytes.
import net from 'node:net';
import tls from 'node:tls';
import { splitHostPort } from '../../common/address.js';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { OutboundConfig } from '../config/load.js';
import { pipeBothWays } from '../net/pipe.js';
import { serverCheckFor } from './verify-server.js';

export interface OutboundDeps {
  readonly cfg: OutboundConfig;
  /** The client TLS context for the current identity, or null while unavailable. */
  readonly context: () => tls.SecureContext | null;
  readonly metrics: SidecarMetrics;
  readonly log: Logger;
}

export function handshakeReason(err: NodeJS.ErrnoException): string {
  return String(err.code ?? 'error').toLowerCase();
}

/**
 * The last TLS session ticket per client context, so new connections resume instead of doing a
 * full handshake (as the https agent does for HTTP mode). A resumed session carries the identity
 * of the handshake that made it, so tickets never outlive their context: a new identity or
 * bundle means a new context and a full handshake; the server's new context rejects old tickets.
 * checkServerIdentity still runs on resumed connections.
 */
function resumableSessions(): {
  get(c: tls.SecureContext): Buffer | undefined;
  set(c: tls.SecureContext, t: Buffer): void;
} {
  let last: { context: tls.SecureContext; ticket: Buffer } | null = null;
  return {
    get: (context) => (last?.context === context ? last.ticket : undefined),
    set: (context, ticket) => {
      last = { context, ticket };
    },
  };
}

/**
 * Opens mTLS connections to the listener's upstream: chain against the context's trust, then
 * the server check the config asks for (SPIFFE ID, DNS name or SPKI pin), SNI for servers
 * outside the mesh, and resumption of `session` when given.
 */
export function upstreamConnector(
  cfg: OutboundConfig,
): (secureContext: tls.SecureContext, session: Buffer | undefined) => tls.TLSSocket {
  const target = splitHostPort(cfg.upstream);
  const checkServerIdentity = serverCheckFor(cfg);
  const servername = cfg.serverName;
  return (secureContext, session) =>
    tls.connect({
      host: target.host,
      port: target.port,
      secureContext,
      checkServerIdentity,
      ...(servername ? { servername } : {}),
      ...(session ? { session } : {}),
    });
}

export function createTcpOutbound(d: OutboundDeps): net.Server {
  const connect = upstreamConnector(d.cfg);
  const labels = { direction: 'outbound', listener: d.cfg.name };
  const sessions = resumableSessions();
  return net.createServer({ noDelay: true }, (client) => {
    const secureContext = d.context();
    if (!secureContext) {
      d.metrics.handshakes.inc({ ...labels, result: 'refused', reason: 'sidecar_not_ready' });
      client.destroy();
      return;
    }
    client.pause();
    const session = sessions.get(secureContext);
    const upstream = connect(secureContext, session);
    // Only sessions of a server that verified (chain and SPIFFE ID) are kept.
    upstream.on('session', (ticket: Buffer) => {
      if (upstream.authorized) sessions.set(secureContext, ticket);
    });
    upstream.setTimeout(d.cfg.connectTimeoutMs, () =>
      upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })),
    );
    const onFail = (err: NodeJS.ErrnoException) => {
      d.metrics.handshakes.inc({ ...labels, result: 'failed', reason: handshakeReason(err) });
      d.log.warn(
        { listener: d.cfg.name, upstream: d.cfg.upstream, err: err.message },
        'outbound mTLS connection failed',
      );
      client.destroy();
    };
    upstream.once('error', onFail);
    client.once('error', () => upstream.destroy());
    upstream.once('secureConnect', () => {
      upstream.setTimeout(0);
      upstream.off('error', onFail);
      d.metrics.handshakes.inc({ ...labels, result: 'ok', reason: '' });
      pipeBothWays(client, upstream, {
        direction: 'outbound',
        listener: d.cfg.name,
        metrics: d.metrics,
        log: d.log,
      });
      client.resume();
    });
  });
}
