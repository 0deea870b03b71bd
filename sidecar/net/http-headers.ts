// Header hygiene for proxying between HTTP/1.1 and HTTP/2: hop-by-hop headers (RFC 9110 §7.6.1)
// and HTTP/2 pseudo-headers never cross the proxy.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Copies end-to-end headers, dropping hop-by-hop ones, those named in Connection, pseudo-headers and `drop`. */
export function forwardableHeaders(
  headers: IncomingHttpHeaders,
  drop: readonly string[] = [],
): OutgoingHttpHeaders {
  const named = String(headers['connection'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (
      value === undefined ||
      name.startsWith(':') ||
      HOP_BY_HOP.has(name) ||
      named.includes(name) ||
      drop.includes(name)
    )
      continue;
    out[name] = value;
  }
  return out;
}

/** Envoy's XFCC value for a verified peer (design.md §6). */
export function xfccValue(ownId: string, peerCertSha256: string, peerId: string): string {
  return `By=${ownId};Hash=${peerCertSha256};URI=${peerId}`;
}
