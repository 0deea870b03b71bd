// Outbound HTTP mode: a plaintext HTTP proxy on loopback that forwards each request over a
// pooled, reused mTLS connection to the upstream, verified by the upstream's SPIFFE ID. With
// `token`, each request carries a bearer token bound to the certificate of that connection.
import http from 'node:http';
import type tls from 'node:tls';
import type { Svid } from '../identity/svid.js';
import { type ProxyRequest, type ProxyResponse, proxyHttp, replyText } from '../net/http-proxy.js';
import type { UpstreamResponse } from '../net/http1-client.js';
import { countConnection } from '../net/pipe.js';
import { contextPools } from './context-pools.js';
import { handshakeReason, type OutboundDeps, upstreamConnector } from './tcp.js';
import { forwardWithToken, type TokenSource } from './token.js';

export interface HttpOutboundDeps extends OutboundDeps {
  /** The certificate the current context presents (read together with `context`). */
  readonly svid?: () => Svid | null;
  /** Present when the listener has `token`. */
  readonly tokens?: TokenSource;
}

export function createHttpOutbound(d: HttpOutboundDeps): http.Server {
  const connect = upstreamConnector(d.cfg);
  const labels = { direction: 'outbound', listener: d.cfg.name };
  // Count each new mTLS connection a pool opens (reused connections need no handshake), and each
  // that fails before it is up: refused, timed out, or a server that does not verify.
  const pools = contextPools(
    (secureContext, session) => {
      const socket = connect(secureContext, session);
      socket.setNoDelay(true);
      let secure = false;
      socket.once('secureConnect', () => {
        secure = true;
        d.metrics.handshakes.inc({ ...labels, result: 'ok', reason: '' });
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        if (!secure) d.metrics.handshakes.inc({ ...labels, result: 'failed', reason: handshakeReason(err) });
      });
      return socket;
    },
    d.cfg.connectTimeoutMs,
    d.cfg.serverName ?? d.cfg.upstream,
  );
  const forward = (req: ProxyRequest, res: ProxyResponse, secureContext: tls.SecureContext) => {
    const pool = pools.poolFor(secureContext);
    return (extra: http.OutgoingHttpHeaders, intercept?: (up: UpstreamResponse) => boolean) =>
      proxyHttp(
        req,
        res,
        {
          send: (headers, framing) => pool.request(req.method ?? 'GET', req.url ?? '/', headers, framing),
          timeoutMs: d.cfg.requestTimeoutMs,
          maxBodyBytes: d.cfg.maxBodyBytes,
          log: d.log,
          logFields: { listener: d.cfg.name, upstream: d.cfg.upstream },
          ...(intercept ? { intercept } : {}),
        },
        extra,
      );
  };
  const serverOptions: http.ServerOptions = {
    noDelay: true,
    keepAliveTimeout: 60_000,
    // Slowloris: a client must finish its headers in time; checked every second, not every 30 s.
    headersTimeout: d.cfg.headerTimeoutMs,
    requestTimeout: Math.max(d.cfg.requestTimeoutMs, d.cfg.headerTimeoutMs + 1000),
    connectionsCheckingInterval: Math.min(1000, d.cfg.headerTimeoutMs),
  };
  const server = http.createServer(serverOptions, (req, res) => {
    const started = performance.now();
    res.once('finish', () =>
      d.metrics.requestSeconds.observe(
        { direction: 'outbound', listener: d.cfg.name, status: `${Math.floor(res.statusCode / 100)}xx` },
        (performance.now() - started) / 1000,
      ),
    );
    // Context and certificate are read in the same tick, so the token matches the connection.
    const secureContext = d.context();
    const svid = d.svid?.() ?? null;
    if (!secureContext || (d.tokens && !svid)) {
      replyText(res, 503, 'sidecar has no valid certificate yet', 'sidecar_not_ready');
      return;
    }
    const send = forward(req, res, secureContext);
    if (d.tokens && svid) void forwardWithToken(req, res, svid, d.tokens, send, d.log);
    else send({});
  });
  server.on('connection', (socket) =>
    countConnection(socket, { direction: 'outbound', listener: d.cfg.name, metrics: d.metrics }),
  );
  server.on('close', () => pools.close());
  return server;
}
