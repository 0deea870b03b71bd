import type { AddressInfo } from 'node:net';
import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logging.js';
import { ecKey, HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { SidecarMetrics } from '../admin/metrics.js';
import type { OutboundConfig } from '../config/load.js';
import { makeBundle, makeSvid } from '../identity/svid.js';
import { clientContext, contextOptions } from '../tls/contexts.js';
import { createTcpOutbound } from './tcp.js';

const now = Date.now();
const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + HOUR_MS) };
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const bundle = makeBundle([root.der], 1);
const WEB = 'spiffe://example.org/ns/shop/sa/web';
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

function identity(id: string) {
  const key = ecKey();
  return {
    svid: makeSvid(
      key.privateKey,
      [makeLeaf(intermediate, id, { ...validity, publicKey: key.publicKey }), intermediate.der],
      now,
    ),
    bundle,
  };
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** An mTLS echo server that records, per connection, whether the session was resumed. */
async function echoServer(): Promise<{ port: number; resumed: boolean[] }> {
  const resumed: boolean[] = [];
  const server = tls.createServer(
    { ...contextOptions(identity(ORDERS), 'TLSv1.3')!, requestCert: true, rejectUnauthorized: true },
    (s) => {
      resumed.push(s.isSessionReused());
      s.pipe(s);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, resumed };
}

async function outbound(upstreamPort: number, context: () => tls.SecureContext): Promise<number> {
  const cfg = {
    name: 'orders',
    upstream: `127.0.0.1:${upstreamPort}`,
    serverId: ORDERS,
    serverName: undefined,
    serverSpki: undefined,
    connectTimeoutMs: 5000,
  };
  const server = createTcpOutbound({
    cfg: cfg as unknown as OutboundConfig,
    context,
    metrics: new SidecarMetrics(),
    log: createLogger({ level: 'silent' }),
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** One plaintext connection through the outbound listener: sends a line, waits for its echo. */
function roundTrip(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('ping'));
    s.once('data', (d) => {
      s.destroy();
      if (d.toString() === 'ping') resolve();
      else reject(new Error(`unexpected echo ${d}`));
    });
    s.once('error', reject);
  });
}

describe('TCP outbound session resumption', () => {
  it('resumes the TLS session of an earlier connection instead of a full handshake', async () => {
    const upstream = await echoServer();
    const context = clientContext(identity(WEB), 'TLSv1.3')!;
    const port = await outbound(upstream.port, () => context);
    await roundTrip(port);
    await roundTrip(port);
    await roundTrip(port);
    expect(upstream.resumed).toEqual([false, true, true]);
  });

  it('does a full handshake once the client context changes (a new identity or bundle)', async () => {
    const upstream = await echoServer();
    let context = clientContext(identity(WEB), 'TLSv1.3')!;
    const port = await outbound(upstream.port, () => context);
    await roundTrip(port);
    await roundTrip(port);
    context = clientContext(identity(WEB), 'TLSv1.3')!;
    await roundTrip(port);
    await roundTrip(port);
    expect(upstream.resumed).toEqual([false, true, false, true]);
  });
});
