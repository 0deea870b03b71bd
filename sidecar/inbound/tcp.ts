// Inbound TCP mode: terminate mTLS, admit the peer, then pipe bytes to the workload.
import net from 'node:net';
import tls from 'node:tls';
import { splitHostPort } from '../../common/address.js';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { InboundConfig } from '../config/load.js';
import { pipeBothWays } from '../net/pipe.js';
import { type AdmitOptions, admit, recordAdmission } from './admission.js';
import type { AllowList } from './allow.js';

export interface InboundDeps {
  readonly cfg: InboundConfig;
  readonly allow: AllowList;
  readonly ready: () => boolean;
  readonly metrics: SidecarMetrics;
  readonly log: Logger;
  readonly tlsOptions: tls.SecureContextOptions;
  readonly admitOptions?: AdmitOptions;
}

export function createTcpInbound(d: InboundDeps): tls.Server {
  const target = splitHostPort(d.cfg.forward);
  const server = tls.createServer({
    ...d.tlsOptions,
    requestCert: true,
    // Verified after the handshake (admission.ts), so refusals can say exactly why.
    rejectUnauthorized: false,
    handshakeTimeout: d.cfg.handshakeTimeoutMs,
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    const a = admit(socket, d.allow, d.ready, d.admitOptions);
    recordAdmission(a, d.cfg, d.metrics, d.log, socket.remoteAddress);
    if (!a.ok) {
      socket.destroy();
      return;
    }
    const upstream = net.connect({ host: target.host, port: target.port, noDelay: true });
    pipeBothWays(socket, upstream, {
      direction: 'inbound',
      listener: d.cfg.name,
      metrics: d.metrics,
      log: d.log,
    });
  });
  return server;
}
