// The metrics listener: /healthz (process alive), /readyz (able to issue), /metrics (Prometheus),
// and the read-only status page (/ as HTML, /status.json as data) with its local assets.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../common/logging.js';
import type { CaMetrics } from './metrics.js';
import type { CaStatus } from './status.js';
import { FAVICON_SVG, STATUS_CSS } from './status-assets.js';
import { renderStatusPage } from './status-page.js';

export interface OpsServerOptions {
  readonly log: Logger;
  readonly metrics: CaMetrics;
  /** Why the CA is not ready, or null when it is. */
  readonly notReadyReason: () => string | null;
  /** What the status page shows; without it / and /status.json answer 404. */
  readonly status?: () => Promise<CaStatus>;
}

/** Everything the page loads comes from this origin; nothing runs as script. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

type Send = (status: number, type: string, body: string, headers?: Record<string, string>) => void;

function serveStatus(o: OpsServerOptions, url: string, send: Send): void {
  o.status!().then(
    (s) => {
      if (url === '/') send(200, 'text/html; charset=utf-8', renderStatusPage(s), PAGE_HEADERS);
      else send(200, 'application/json', `${JSON.stringify(s, null, 2)}\n`, PAGE_HEADERS);
    },
    (err: unknown) => {
      o.log.error({ err }, 'status collection failed');
      send(500, 'text/plain', 'status unavailable\n');
    },
  );
}

function route(o: OpsServerOptions, req: IncomingMessage, res: ServerResponse): void {
  const url = (req.url ?? '/').split('?')[0];
  const send: Send = (status, type, body, headers = {}) =>
    res.writeHead(status, { 'content-type': type, ...headers }).end(req.method === 'HEAD' ? undefined : body);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
  } else if (url === '/healthz') {
    send(200, 'text/plain', 'ok\n');
  } else if (url === '/readyz') {
    const reason = o.notReadyReason();
    send(reason ? 503 : 200, 'text/plain', reason ? `not ready: ${reason}\n` : 'ready\n');
  } else if (url === '/metrics') {
    o.metrics.registry.metrics().then(
      (text) => send(200, o.metrics.registry.contentType, text),
      (err: unknown) => {
        o.log.error({ err }, 'metrics collection failed');
        send(500, 'text/plain', 'metrics unavailable\n');
      },
    );
  } else if (o.status && (url === '/' || url === '/status.json')) {
    serveStatus(o, url, send);
  } else if (o.status && url === '/status.css') {
    send(200, 'text/css; charset=utf-8', STATUS_CSS, PAGE_HEADERS);
  } else if (o.status && url === '/favicon.svg') {
    send(200, 'image/svg+xml', FAVICON_SVG, PAGE_HEADERS);
  } else {
    send(404, 'text/plain', 'not found\n');
  }
}

/** Starts the ops HTTP server on `host:port`; resolves with the bound port. */
export async function startOpsServer(
  o: OpsServerOptions,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => route(o, req, res));
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
