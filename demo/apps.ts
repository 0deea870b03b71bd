// The two demo workloads, plain HTTP: `orders` reports who called it (from the XFCC header its
// sidecar set), `web` calls orders through its own sidecar. `tether demo` binds them to
// 127.0.0.1 on free ports; `tether demo app` (docker-compose) runs one of them on a given address.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoApp {
  readonly port: number;
  close(): Promise<void>;
}

/** Where an app listens; default 127.0.0.1 on a free port. */
export interface ListenAt {
  readonly host?: string;
  readonly port?: number;
}

async function listen(server: http.Server, at: ListenAt): Promise<DemoApp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port ?? 0, at.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses Envoy's XFCC `By=…;Hash=…;URI=…` into its fields. */
export function parseXfcc(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? '').split(';')) {
    const i = pair.indexOf('=');
    if (i > 0) out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/**
 * The claims of the (already verified, by the sidecar) bearer token, for display only.
 * The token itself is never echoed.
 */
function bearerClaims(header: string | undefined): Record<string, unknown> | null {
  const payload = /^Bearer [\w-]+\.([\w-]+)\.[\w-]+$/.exec(header ?? '')?.[1];
  if (!payload) return null;
  try {
    const c = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    return { sub: c['sub'], aud: c['aud'], scope: c['scope'], cnf: c['cnf'], exp: c['exp'] };
  } catch {
    return null;
  }
}

export function startOrdersApp(at: ListenAt = {}): Promise<DemoApp> {
  return listen(
    http.createServer((req, res) => {
      const xfcc = parseXfcc(req.headers['x-forwarded-client-cert'] as string | undefined);
      const token = bearerClaims(req.headers['authorization']);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          service: 'orders',
          path: req.url,
          caller: xfcc['URI'] ?? null,
          callerCertSha256: xfcc['Hash'] ?? null,
          // What the bearer token said (its claims, never the token itself).
          token,
          orders: [{ id: 42, item: 'coffee beans' }],
        }),
      );
    }),
    at,
  );
}

/**
 * `web` answers every request by calling orders through its sidecar's outbound listener:
 * `ordersViaSidecar` gives that listener's port on 127.0.0.1 (path /orders), or a full URL.
 */
export function startWebApp(ordersViaSidecar: () => number | URL, at: ListenAt = {}): Promise<DemoApp> {
  return listen(
    http.createServer((req, res) => {
      const target = ordersViaSidecar();
      const url = typeof target === 'number' ? new URL(`http://127.0.0.1:${target}/orders`) : target;
      const upstream = http.get(
        {
          host: url.hostname,
          port: Number(url.port || 80),
          path: `${url.pathname}${url.search}`,
          timeout: 5000,
        },
        (up) => {
          let body = '';
          up.on('data', (c) => (body += c));
          up.on('end', () => {
            res.writeHead(up.statusCode === 200 ? 200 : 502, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({
                service: 'web',
                path: req.url,
                ordersStatus: up.statusCode,
                orders: safeJson(body),
              }),
            );
          });
        },
      );
      upstream.on('error', (err) => {
        if (res.headersSent) return void res.destroy();
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ service: 'web', error: `orders unreachable: ${err.message}` }));
      });
      upstream.on('timeout', () => upstream.destroy(new Error('timed out')));
    }),
    at,
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
