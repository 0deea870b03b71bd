// Collects WatchTrustBundle messages from a live stream so tests can wait for a given bundle.
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { TrustBundle__Output } from '../../proto/gen/tether/ca/v1/TrustBundle.js';
import { caClient } from './ca-client.js';

export interface BundleWatch {
  readonly messages: TrustBundle__Output[];
  waitFor(predicate: (b: TrustBundle__Output) => boolean, timeoutMs: number): Promise<TrustBundle__Output>;
  close(): void;
}

export function watchBundle(address: string, bundlePem: string): BundleWatch {
  const client = caClient(address, bundlePem);
  const messages: TrustBundle__Output[] = [];
  const stream: ClientReadableStream<TrustBundle__Output> = client.WatchTrustBundle({});
  const waiters = new Set<() => void>();
  stream.on('data', (m: TrustBundle__Output) => {
    messages.push(m);
    for (const w of waiters) w();
  });
  stream.on('error', () => undefined); // cancellation ends the stream with CANCELLED
  return {
    messages,
    waitFor(predicate, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const hit = messages.find(predicate);
          if (hit) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching bundle within ${timeoutMs} ms; saw sequences ${messages.map((m) => m.sequence).join(',')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      stream.cancel();
      client.close();
    },
  };
}
