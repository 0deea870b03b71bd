// Inbound HTTP token enforcement at the edge: runs the token pipeline for one request and turns
// a rejection into an RFC 6750 answer, a metric and one log line (reason only, never the token).
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { ProxyRequest, ProxyResponse } from '../net/http-proxy.js';
import { x5tFromHex } from '../token/binding.js';
import { challengeFor, type TokenRejection } from '../token/challenge.js';
import type { TokenDecision, TokenRequest } from '../token/inbound-check.js';

export type TokenGate = (req: TokenRequest) => Promise<TokenDecision>;

/** Answers a refused request: 401/403 with a challenge, 503 when the check itself failed. */
export function replyRejected(res: ProxyResponse, r: TokenRejection): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-tether-reason': r.status === 503 ? r.reason : `token_${r.reason}`,
  };
  if (r.status !== 503) headers['www-authenticate'] = challengeFor(r);
  res.writeHead(r.status, headers);
  res.end(`${r.description}\n`);
}

/** True when the request may go on; otherwise it has been answered, counted and logged. */
export async function passesTokenGate(
  gate: TokenGate,
  req: ProxyRequest,
  res: ProxyResponse,
  peer: { spiffeId: string; certSha256: string },
  o: { listener: string; metrics: SidecarMetrics; log: Logger },
): Promise<boolean> {
  let decision: TokenDecision;
  try {
    decision = await gate({
      headers: req.headers,
      url: req.url ?? '/',
      peerX5t: x5tFromHex(peer.certSha256),
    });
  } catch (err) {
    o.log.error({ listener: o.listener, err: (err as Error).message }, 'token check failed');
    decision = { ok: false, status: 503, reason: 'token_check_failed', description: 'token check failed' };
  }
  if (decision.ok) return true;
  o.metrics.tokenRejected.inc({ listener: o.listener, reason: decision.reason });
  o.log.warn(
    { listener: o.listener, peerId: peer.spiffeId, reason: decision.reason, status: decision.status },
    'inbound request refused by token check',
  );
  replyRejected(res, decision);
  return false;
}
