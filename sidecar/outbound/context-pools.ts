// Pooled mTLS connections per client TLS context: when the identity rotates, idle connections
// made with the old certificate are closed and busy ones are not reused, so every new request
// travels on a connection presenting the current certificate (which a bound token needs).
import type tls from 'node:tls';
import { Http1Pool } from '../net/http1-client.js';

export type PoolFor = (context: tls.SecureContext) => Http1Pool;

/**
 * A pool per context; `open` makes a new TLS connection with that context (and the last session
 * ticket of the same context, so new connections resume).
 */
export function contextPools(
  open: (context: tls.SecureContext, session: Buffer | undefined) => tls.TLSSocket,
  connectTimeoutMs: number,
  defaultHost: string,
): { poolFor: PoolFor; close(): void } {
  let current: { context: tls.SecureContext; pool: Http1Pool; session?: Buffer } | null = null;
  const all = new Set<Http1Pool>();
  const make = (context: tls.SecureContext) => {
    const entry: { context: tls.SecureContext; pool: Http1Pool; session?: Buffer } = {
      context,
      pool: new Http1Pool({
        open: () => {
          const socket = open(context, entry.session);
          // Only sessions of a server that verified (chain and identity) are kept.
          socket.on('session', (ticket: Buffer) => {
            if (socket.authorized) entry.session = ticket;
          });
          return socket;
        },
        readyEvent: 'secureConnect',
        connectTimeoutMs,
        defaultHost,
      }),
    };
    all.add(entry.pool);
    return entry;
  };
  return {
    poolFor(context) {
      if (current?.context === context) return current.pool;
      if (current) current.pool.retire();
      current = make(context);
      return current.pool;
    },
    /** Closes every connection of every pool. */
    close() {
      for (const p of all) p.close();
      all.clear();
    },
  };
}
