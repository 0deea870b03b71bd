// Outbound HTTP mode: a plaintext HTTP proxy on loopback that forwards each request over a
// pooled, reused mTLS connection to the upstream, verified by the upstream's SPIFFE ID.
import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import { splitHostPort } from '../net/address.js';
import { proxyHttp, replyText } from '../net/http-proxy.js';
import { handshakeReason, type OutboundDeps } from './tcp.js';
import { serverIdentityCheck } from './verify-server.js';

export function createHttpOutbound(d: OutboundDeps): http.Server {
  const target = splitHostPort(d.cfg.upstream);
  const checkServerIdentity = serverIdentityCheck(d.cfg.serverId);
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1024, scheduling: 'lifo' });
  agent.on('free', (socket) => socket.setNoDelay(true));
  const labels = { direction: 'outbound', listener: d.cfg.name };
  // Count each new mTLS connection the pool opens (reused connections need no handshake).
  const createConnection = agent.createConnection.bind(agent) as (
    options: unknown,
    cb: unknown,
  ) => tls.TLSSocket;
  agent.createConnection = ((options: unknown, cb: unknown) => {
    const socket = createConnection(options, cb);
    socket.once('secureConnect', () => d.metrics.handshakes.inc({ ...labels, result: 'ok', reason: '' }));
    return socket;
  }) as typeof agent.createConnection;
  const metrics: SidecarMetrics = d.metrics;
  const log: Logger = d.log;
  const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
    const started = performance.now();
    res.once('finish', () =>
      metrics.requestSeconds.observe(
        { direction: 'outbound', listener: d.cfg.name, status: `${Math.floor(res.statusCode / 100)}xx` },
        (performance.now() - started) / 1000,
      ),
    );
    const secureContext = d.context();
    if (!secureContext) {
      replyText(res, 503, 'sidecar has no valid certificate yet', 'sidecar_not_ready');
      return;
    }
    proxyHttp(req, res, {
      send: (headers) =>
        https.request({
          host: target.host,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
          secureContext,
          checkServerIdentity,
          timeout: d.cfg.connectTimeoutMs,
          // https passes unknown options through to tls.connect: one context per identity change.
        } as https.RequestOptions),
      timeoutMs: d.cfg.requestTimeoutMs,
      log,
      logFields: { listener: d.cfg.name, upstream: d.cfg.upstream },
      onError: (err) =>
        d.metrics.handshakes.inc({ ...labels, result: 'failed', reason: handshakeReason(err) }),
    });
  });
  server.on('close', () => agent.destroy());
  return server;
}
