// Joins two sockets in both directions with byte counters and an active-connection gauge.
// A side that ends normally ends the other after its buffered data is flushed (pipe's own end
// propagation); a side that aborts or errors destroys the other at once.
import type { Socket } from 'node:net';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';

export interface PipeLabels {
  readonly direction: 'inbound' | 'outbound';
  readonly listener: string;
  readonly metrics: SidecarMetrics;
  readonly log: Logger;
}

/**
 * Counts one client connection of an HTTP listener: active while open, its bytes when it closes.
 * (TCP listeners count through pipeBothWays.)
 */
export function countConnection(socket: Socket, l: Omit<PipeLabels, 'log'>): void {
  const labels = { direction: l.direction, listener: l.listener };
  l.metrics.activeConnections.inc(labels);
  socket.once('close', () => {
    l.metrics.activeConnections.dec(labels);
    l.metrics.bytes.inc({ ...labels, flow: 'rx' }, socket.bytesRead);
    l.metrics.bytes.inc({ ...labels, flow: 'tx' }, socket.bytesWritten);
  });
}

export function pipeBothWays(client: Socket, upstream: Socket, l: PipeLabels): void {
  const labels = { direction: l.direction, listener: l.listener };
  l.metrics.activeConnections.inc(labels);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  let closed = 0;
  const onClose = (from: Socket, to: Socket) => () => {
    if (!from.readableEnded) to.destroy();
    if (++closed === 2) {
      l.metrics.activeConnections.dec(labels);
      l.metrics.bytes.inc({ ...labels, flow: 'rx' }, client.bytesRead);
      l.metrics.bytes.inc({ ...labels, flow: 'tx' }, client.bytesWritten);
    }
  };
  client.once('close', onClose(client, upstream));
  upstream.once('close', onClose(upstream, client));
  const onError = (side: string, other: Socket) => (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') {
      l.log.warn({ listener: l.listener, side, err: err.message }, `${l.direction} connection failed`);
    }
    other.destroy();
  };
  client.on('error', onError('client', upstream));
  upstream.on('error', onError('upstream', client));
}
