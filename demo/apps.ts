// The two demo workloads, plain HTTP on loopback: `orders` reports who called it (from the
// XFCC header its sidecar set), `web` calls orders through its own sidecar.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoApp {
  readonly port: number;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<DemoApp> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
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

export function startOrdersApp(): Promise<DemoApp> {
  return listen(
    http.createServer((req, res) => {
      const xfcc = parseXfcc(req.headers['x-forwarded-client-cert'] as string | undefined);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          service: 'orders',
          path: req.url,
          caller: xfcc['URI'] ?? null,
          callerCertSha256: xfcc['Hash'] ?? null,
          orders: [{ id: 42, item: 'coffee beans' }],
        }),
      );
    }),
  );
}

export function startWebApp(ordersViaSidecar: () => number): Promise<DemoApp> {
  return listen(
    http.createServer((req, res) => {
      const upstream = http.get(
        { host: '127.0.0.1', port: ordersViaSidecar(), path: '/orders', timeout: 5000 },
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
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ service: 'web', error: `orders unreachable: ${err.message}` }));
      });
    }),
  );
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
