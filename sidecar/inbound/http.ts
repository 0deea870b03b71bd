// Inbound HTTP mode: terminate mTLS (HTTP/1.1 keep-alive and HTTP/2 via ALPN), admit the peer,
// and proxy each request to the workload with the verified identity in XFCC. A client-sent
// x-forwarded-client-cert never reaches the workload.
import http from 'node:http';
import http2 from 'node:http2';
import type tls from 'node:tls';
import { splitHostPort } from '../../common/address.js';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { InboundConfig } from '../config/load.js';
import { xfccValue } from '../net/http-headers.js';
import { type ProxyRequest, type ProxyResponse, proxyHttp, replyText } from '../net/http-proxy.js';
import { countConnection } from '../net/pipe.js';
import { type Admission, admit, recordAdmission } from './admission.js';
import type { AllowList } from './allow.js';
import { passesTokenGate, type TokenGate } from './token-gate.js';

export interface HttpInboundDeps {
  readonly cfg: InboundConfig;
  readonly allow: AllowList;
  readonly ready: () => boolean;
  readonly ownId: () => string;
  readonly metrics: SidecarMetrics;
  readonly log: Logger;
  readonly tlsOptions: tls.SecureContextOptions;
  /** Present when the listener has `token`: every request must carry a valid bound token. */
  readonly tokenGate?: TokenGate;
}

type Req = ProxyRequest;
type Res = ProxyResponse;

/**
 * The admission travels on the socket itself: for HTTP/2, `session.socket` is a Proxy that
 * forwards property reads to the real socket, so identity-keyed maps would miss.
 */
const ADMISSION = Symbol('tether.admission');
type AdmittedSocket = tls.TLSSocket & { [ADMISSION]?: Admission };

function tlsSocketOf(req: Req): AdmittedSocket {
  return (
    req.httpVersionMajor === 2 ? (req as http2.Http2ServerRequest).stream.session!.socket : req.socket
  ) as AdmittedSocket;
}

export function createHttpInbound(d: HttpInboundDeps): http2.Http2SecureServer {
  const target = splitHostPort(d.cfg.forward);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024, scheduling: 'lifo' });
  const server = http2.createSecureServer({
    ...d.tlsOptions,
    allowHTTP1: true,
    requestCert: true,
    rejectUnauthorized: false, // verified in admission.ts so refusals carry a reason
    handshakeTimeout: d.cfg.handshakeTimeoutMs,
  });
  server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
    socket.setNoDelay(true);
    const a = admit(socket, d.allow, d.ready);
    recordAdmission(a, d.cfg, d.metrics, d.log, socket.remoteAddress);
    if (!a.ok && a.status === 'handshake') {
      socket.destroy();
      return;
    }
    (socket as AdmittedSocket)[ADMISSION] = a;
    countConnection(socket, { direction: 'inbound', listener: d.cfg.name, metrics: d.metrics });
  });
  server.on('sessionError', () => undefined);
  server.on('request', async (req: Req, res: Res) => {
    const started = performance.now();
    const a = tlsSocketOf(req)[ADMISSION];
    res.once('finish', () => {
      d.metrics.requestSeconds.observe(
        { direction: 'inbound', listener: d.cfg.name, status: `${Math.floor(res.statusCode / 100)}xx` },
        (performance.now() - started) / 1000,
      );
    });
    if (!a?.ok) {
      const who = a && !a.ok && a.peerId ? a.peerId : 'peer';
      replyText(
        res,
        403,
        `forbidden: ${who} is not allowed to call ${d.cfg.name}`,
        a && !a.ok ? a.reason : 'unknown_peer',
      );
      return;
    }
    const gateOptions = { listener: d.cfg.name, metrics: d.metrics, log: d.log };
    if (d.tokenGate && !(await passesTokenGate(d.tokenGate, req, res, a.peer, gateOptions))) return;
    if (res.destroyed) return;
    proxyHttp(
      req,
      res,
      {
        send: (headers) =>
          http.request({
            host: target.host,
            port: target.port,
            method: req.method,
            path: req.url,
            headers,
            agent,
          }),
        timeoutMs: d.cfg.requestTimeoutMs,
        maxBodyBytes: d.cfg.maxBodyBytes,
        log: d.log,
        logFields: { listener: d.cfg.name, forward: d.cfg.forward },
      },
      // A client-sent XFCC never reaches the workload; ours replaces it.
      { 'x-forwarded-client-cert': xfccValue(d.ownId(), a.peer.certSha256, a.peer.spiffeId) },
      ['x-forwarded-client-cert'],
    );
  });

  return server;
}
