// The sidecar's admin listener: /healthz, /readyz (200 only with a valid certificate and a
// bundle), /metrics (Prometheus) and /certs (what identity is in use and which listeners are
// bound; no key material).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from '../../common/address.js';
import type { Logger } from '../../common/logging.js';
import type { IdentityProvider } from '../identity/provider.js';
import type { SidecarMetrics } from './metrics.js';

/** One inbound or outbound listener, as /certs reports it. */
export interface ListenerInfo {
  readonly name: string;
  readonly direction: 'inbound' | 'outbound';
  /** The configured address; `port` is the one actually bound (differs when configured as 0). */
  readonly listen: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'http';
  /** Where traffic goes next: the app (inbound `forward`) or the peer sidecar (outbound `upstream`). */
  readonly target: string;
}

export interface AdminServerOptions {
  readonly source: IdentityProvider;
  readonly metrics: SidecarMetrics;
  readonly log: Logger;
  /** Listeners bound so far (empty until the sidecar has its first certificate). */
  readonly listeners?: () => readonly ListenerInfo[];
}

function certsReport(source: IdentityProvider, listeners: readonly ListenerInfo[]): Record<string, unknown> {
  const { svid, bundle } = source.state();
  return {
    ready: source.isReady(),
    spiffeId: svid?.spiffeId ?? null,
    serial: svid?.serial ?? null,
    /** Hex SHA-256 of the DER leaf: what peers see as XFCC Hash. */
    sha256: svid ? svid.leaf.fingerprint256.replace(/:/g, '').toLowerCase() : null,
    notBefore: svid ? new Date(svid.notBefore).toISOString() : null,
    notAfter: svid ? new Date(svid.notAfter).toISOString() : null,
    bundleSequence: bundle?.sequence ?? null,
    bundleRoots: bundle?.roots.length ?? 0,
    listeners,
  };
}

export async function startAdminServer(
  address: string,
  o: AdminServerOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type }).end(body);
    };
    if (path === '/healthz') {
      send(200, 'text/plain', 'ok\n');
    } else if (path === '/readyz') {
      if (o.source.isReady()) send(200, 'text/plain', 'ready\n');
      else send(503, 'text/plain', 'not ready: no valid certificate and bundle\n');
    } else if (path === '/certs') {
      send(
        200,
        'application/json',
        `${JSON.stringify(certsReport(o.source, o.listeners?.() ?? []), null, 2)}\n`,
      );
    } else if (path === '/metrics') {
      o.metrics.registry.metrics().then(
        (text) => send(200, o.metrics.registry.contentType, text),
        (err: unknown) => {
          o.log.error({ err }, 'metrics collection failed');
          send(500, 'text/plain', 'metrics unavailable\n');
        },
      );
    } else {
      send(404, 'text/plain', 'not found\n');
    }
  });
  server.requestTimeout = 10_000;
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
