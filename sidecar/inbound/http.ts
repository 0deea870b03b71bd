// Inbound HTTP mode: terminate mTLS (HTTP/1.1 keep-alive and HTTP/2 via ALPN), admit the peer,
// and proxy each request to the workload with the verified identity in XFCC. A client-sent
// x-forwarded-client-cert never reaches the workload.
import http2 from 'node:http2';
import net from 'node:net';
import type tls from 'node:tls';
import { splitHostPort } from '../../common/address.js';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { InboundConfig } from '../config/load.js';
import { xfccValue } from '../net/http-headers.js';
import { type ProxyRequest, type ProxyResponse, proxyHttp, replyText } from '../net/http-proxy.js';
import { Http1Pool } from '../net/http1-client.js';
import { countConnection } from '../net/pipe.js';
import { checkRule, ruleFor } from '../psd2/psd2-allow.js';
import { type Admission, type AdmitOptions, admit, recordAdmission } from './admission.js';
import type { AllowList } from './allow.js';
import { PSD2_HEADERS } from './psd2-peer.js';
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
  /** PSD2 admission (its rules are applied per request, by path) and the FAPI key rule. */
  readonly admitOptions?: AdmitOptions;
}

/** Identity headers only the sidecar may set: client-sent copies never reach the workload. */
const OWN_HEADERS = ['x-forwarded-client-cert', ...PSD2_HEADERS];

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
  const pool = new Http1Pool({
    open: () => net.connect({ host: target.host, port: target.port, noDelay: true }),
    readyEvent: 'connect',
    defaultHost: d.cfg.forward,
  });
  const server = http2.createSecureServer({
    ...d.tlsOptions,
    allowHTTP1: true,
    requestCert: true,
    rejectUnauthorized: false, // verified in admission.ts so refusals carry a reason
    handshakeTimeout: d.cfg.handshakeTimeoutMs,
  });
  server.prependListener('secureConnection', (socket: tls.TLSSocket) => {
    socket.setNoDelay(true);
    const a = admit(socket, d.allow, d.ready, d.admitOptions);
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
        a && !a.ok && a.description
          ? `forbidden: ${a.description}`
          : `forbidden: ${who} is not allowed to call ${d.cfg.name}`,
        a && !a.ok ? a.reason : 'unknown_peer',
      );
      return;
    }
    const psd2 = d.admitOptions?.psd2;
    const psd2Refusal =
      psd2 && a.peer.psd2 && checkRule(ruleFor(psd2.allow, req.url ?? '/'), a.peer.psd2.facts);
    if (psd2Refusal) {
      d.metrics.authzDenied.inc({ listener: d.cfg.name, reason: psd2Refusal.reason });
      d.log.warn(
        { listener: d.cfg.name, peerId: a.peer.spiffeId, reason: psd2Refusal.reason },
        'inbound request not allowed',
      );
      replyText(res, 403, `forbidden: ${psd2Refusal.description}`, psd2Refusal.reason);
      return;
    }
    const gateOptions = { listener: d.cfg.name, metrics: d.metrics, log: d.log };
    if (d.tokenGate && !(await passesTokenGate(d.tokenGate, req, res, a.peer, gateOptions))) return;
    if (res.destroyed) return;
    proxyHttp(
      req,
      res,
      {
        send: (headers, framing) => pool.request(req.method ?? 'GET', req.url ?? '/', headers, framing),
        timeoutMs: d.cfg.requestTimeoutMs,
        maxBodyBytes: d.cfg.maxBodyBytes,
        log: d.log,
        logFields: { listener: d.cfg.name, forward: d.cfg.forward },
      },
      // A client-sent XFCC (or x-tether-*) never reaches the workload; ours replaces it.
      a.peer.psd2
        ? { 'x-forwarded-client-cert': `Hash=${a.peer.certSha256}`, ...a.peer.psd2.headers }
        : { 'x-forwarded-client-cert': xfccValue(d.ownId(), a.peer.certSha256, a.peer.spiffeId) },
      OWN_HEADERS,
    );
  });

  server.on('close', () => pool.close());
  return server;
}
