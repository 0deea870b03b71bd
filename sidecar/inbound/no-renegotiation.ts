// Refuses client-initiated TLS renegotiation on inbound connections (only possible where a
// listener allows TLS 1.2): it costs the server a full handshake per request of the client
// and has a history of attacks (CVE-2009-3555, CVE-2011-1473). The connection is closed.
import type tls from 'node:tls';

/** Disables renegotiation on `socket`; on an attempt, calls `onRefused` once and destroys the socket. */
export function refuseRenegotiation(socket: tls.TLSSocket, onRefused: () => void): void {
  socket.disableRenegotiation();
  socket.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ERR_TLS_RENEGOTIATION_DISABLED') return;
    onRefused();
    socket.destroy();
  });
}
