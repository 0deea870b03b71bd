// Graceful drain for any net.Server: stop accepting, let in-flight work finish up to a grace
// period, then cut what is left. HTTP/2 sessions get a GOAWAY first.
import type { Server as HttpServer } from 'node:http';
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import type { Server, Socket } from 'node:net';

export interface Drainable {
  readonly server: Server;
  drain(graceMs: number): Promise<void>;
}

export function drainable(server: Server): Drainable {
  const sockets = new Set<Socket>();
  const sessions = new Set<ServerHttp2Session>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('session', (s: ServerHttp2Session) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  return {
    server,
    drain(graceMs) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          for (const s of sockets) s.destroy();
          resolve();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        for (const s of sessions) s.close();
        (server as HttpServer).closeIdleConnections?.();
        if (sockets.size === 0 && sessions.size === 0) (server as Http2SecureServer).emit?.('close');
      });
    },
  };
}
