// Slowloris guard for HTTP/1.1 on an inbound mTLS listener: Node's headersTimeout does not apply
// to an HTTP/2 server's HTTP/1 fallback, so a connection must complete each request's headers
// within the timeout of its first byte (the first request: of the handshake), else it is closed.
import type http2 from 'node:http2';
import type tls from 'node:tls';

/** Arms per-connection header deadlines on `server`; `onTimeout` runs before the socket is destroyed. */
export function guardHeaderTimeout(
  server: http2.Http2SecureServer | tls.Server,
  timeoutMs: number,
  onTimeout: (socket: tls.TLSSocket) => void,
): void {
  const timers = new WeakMap<tls.TLSSocket, NodeJS.Timeout>();
  const arm = (socket: tls.TLSSocket) => {
    const timer = setTimeout(() => {
      onTimeout(socket);
      socket.destroy();
    }, timeoutMs);
    timer.unref();
    timers.set(socket, timer);
  };
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    if (socket.alpnProtocol === 'h2' || socket.destroyed) return;
    arm(socket);
    socket.once('close', () => clearTimeout(timers.get(socket)));
  });
  server.on('request', (req: { httpVersionMajor: number; socket: unknown }, res: NodeJS.EventEmitter) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as tls.TLSSocket;
    clearTimeout(timers.get(socket));
    // Keep-alive: the next request's deadline starts with its first byte, so idle pooled
    // connections are left alone.
    res.once('finish', () => socket.once('data', () => arm(socket)));
  });
}
