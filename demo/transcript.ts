// What `tether demo` prints: who got which identity, what crossed the wire, what the orders app
// saw, and commands to try by hand — including one the mesh refuses, and why.

export interface CertsView {
  spiffeId: string;
  serial: string;
  sha256: string;
  notAfter: string;
  bundleSequence: number;
}

export interface RoundTrip {
  status: number;
  response: {
    service: string;
    ordersStatus?: number;
    orders?: { caller?: string; callerCertSha256?: string } | string;
    error?: string;
  };
  web: CertsView;
  orders: CertsView;
}

export interface TranscriptInput {
  trip: RoundTrip;
  ports: {
    ca: number;
    caMetrics: number;
    webAdmin: number;
    ordersAdmin: number;
    ordersIn: number;
    webOut: number;
  };
  webAppPort: number;
  dataDir: string;
  identityDir: string;
  readyMs: number;
}

function minutesLeft(iso: string): string {
  return `${Math.round((Date.parse(iso) - Date.now()) / 60_000)} min`;
}

/** Prints the transcript; returns true if the round trip proved what it should. */
export function printTranscript(print: (text: string) => void, t: TranscriptInput): boolean {
  const orders = typeof t.trip.response.orders === 'object' ? t.trip.response.orders : undefined;
  const callerOk = orders?.caller === t.trip.web.spiffeId;
  const hashOk = orders?.callerCertSha256 === t.trip.web.sha256;
  const ok = t.trip.status === 200 && callerOk && hashOk;
  const lines = [
    '',
    `Tether demo — a local mesh on 127.0.0.1, ready in ${(t.readyMs / 1000).toFixed(1)} s (state in ${t.dataDir})`,
    '',
    `  CA          gRPC 127.0.0.1:${t.ports.ca}   metrics http://127.0.0.1:${t.ports.caMetrics}/metrics`,
    `  web         ${t.trip.web.spiffeId}`,
    `              certificate ${t.trip.web.serial.slice(0, 16)}… expires in ${minutesLeft(t.trip.web.notAfter)} (renewed automatically at about half-life)`,
    `  orders      ${t.trip.orders.spiffeId}`,
    `              certificate ${t.trip.orders.serial.slice(0, 16)}… expires in ${minutesLeft(t.trip.orders.notAfter)}`,
    '',
    'One request through the whole path:',
    `  you → web app :${t.webAppPort} → web sidecar :${t.ports.webOut} ══ mTLS (TLS 1.3) ══► orders sidecar :${t.ports.ordersIn} → orders app`,
    `  web's sidecar checked that the server proved ${t.trip.orders.spiffeId}`,
    `  orders' sidecar checked that the client proved an allowed ID and told the app who it was (XFCC):`,
    `    caller      ${orders?.caller ?? '(none)'} ${callerOk ? '✓ web' : '✗ expected web'}`,
    `    cert sha256 ${orders?.callerCertSha256 ?? '(none)'} ${hashOk ? "✓ matches web's current certificate" : '✗ does not match'}`,
    '  certificate-bound access tokens (RFC 8705): not in this version yet',
    '',
    'Try it by hand:',
    `  curl -s http://127.0.0.1:${t.webAppPort}/                     # the web app, which calls orders`,
    `  curl -s http://127.0.0.1:${t.ports.webOut}/orders               # orders, through web's sidecar`,
    `  curl -s http://127.0.0.1:${t.ports.webAdmin}/certs                # web's identity; also /readyz, /metrics`,
    `  curl -sk https://127.0.0.1:${t.ports.ordersIn}/                   # REFUSED: no client certificate, so`,
    '                                                          # the orders sidecar ends the handshake',
    `  curl -sk --cert ${t.identityDir}/cert.pem --key ${t.identityDir}/key.pem https://127.0.0.1:${t.ports.ordersIn}/`,
    "                                                          # allowed: web's own identity (-k only because the",
    '                                                          # server proves a SPIFFE ID, not a host name)',
    '',
    ok ? 'Round trip OK.' : `Round trip FAILED: HTTP ${t.trip.status} ${JSON.stringify(t.trip.response)}`,
  ];
  print(`${lines.join('\n')}\n`);
  return ok;
}
