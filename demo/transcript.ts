// What `tether demo` prints: who got which identity, what crossed the wire, what the orders app
// saw, and commands to try by hand — including one the mesh refuses, and why.

export interface CertsView {
  spiffeId: string;
  serial: string;
  sha256: string;
  notAfter: string;
  bundleSequence: number;
}

export interface TokenView {
  sub?: string;
  aud?: string;
  scope?: string;
  cnf?: { 'x5t#S256'?: string };
}

export interface RoundTrip {
  status: number;
  response: {
    service: string;
    ordersStatus?: number;
    orders?: { caller?: string; callerCertSha256?: string; token?: TokenView | null } | string;
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
    token: number;
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
  // RFC 8705 x5t#S256 is the same SHA-256, written base64url instead of hex.
  const expectedCnf = Buffer.from(t.trip.web.sha256, 'hex').toString('base64url');
  const cnf = orders?.token?.cnf?.['x5t#S256'];
  const cnfOk = cnf === expectedCnf;
  const ok = t.trip.status === 200 && callerOk && hashOk && cnfOk;
  const id = t.identityDir;
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
    `  web's sidecar got an access token from the CA's token endpoint (:${t.ports.token}) and sent it along:`,
    `    sub ${orders?.token?.sub ?? '(none)'}  aud ${orders?.token?.aud ?? '(none)'}  scope ${orders?.token?.scope ?? '(none)'}`,
    `    cnf x5t#S256 ${cnf ?? '(none)'} ${cnfOk ? "✓ bound to web's certificate (RFC 8705)" : '✗ not bound to web'}`,
    "  orders' sidecar checked the token's signature, issuer, audience, expiry, scope and that it is",
    '  bound to the very certificate the connection presented: a copied token is useless elsewhere.',
    '',
    'Try it by hand:',
    `  curl -s http://127.0.0.1:${t.webAppPort}/                     # the web app, which calls orders`,
    `  curl -s http://127.0.0.1:${t.ports.webOut}/orders               # orders, through web's sidecar`,
    `  curl -s http://127.0.0.1:${t.ports.webAdmin}/certs                # web's identity; also /readyz, /metrics`,
    `  curl -sk https://127.0.0.1:${t.ports.ordersIn}/                   # REFUSED: no client certificate, so`,
    '                                                          # the orders sidecar ends the handshake',
    `  curl -sk --cert ${id}/cert.pem --key ${id}/key.pem https://127.0.0.1:${t.ports.ordersIn}/`,
    "                                                          # 401: web's certificate is right, but orders also",
    '                                                          # wants a token bound to it. Get one from the CA:',
    `  T=$(curl -s --cacert ${t.dataDir}/bundle.pem --cert ${id}/cert.pem --key ${id}/key.pem \\`,
    `      -d grant_type=client_credentials -d audience=orders -d scope=read:orders \\`,
    `      https://127.0.0.1:${t.ports.token}/token | sed 's/.*"access_token":"\\([^"]*\\)".*/\\1/')`,
    `  curl -sk --cert ${id}/cert.pem --key ${id}/key.pem -H "Authorization: Bearer $T" https://127.0.0.1:${t.ports.ordersIn}/`,
    '                                                          # 200 (-k only because orders proves a SPIFFE ID,',
    '                                                          # not a host name; the token endpoint has both)',
    '',
    ok ? 'Round trip OK.' : `Round trip FAILED: HTTP ${t.trip.status} ${JSON.stringify(t.trip.response)}`,
  ];
  print(`${lines.join('\n')}\n`);
  return ok;
}
