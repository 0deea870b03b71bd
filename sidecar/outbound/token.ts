// Outbound bearer tokens at the edge: add `Authorization: Bearer …` (replacing the app's), answer
// 503 token_unavailable when none can be had, and when the upstream says `invalid_token` (RFC
// 6750 §3.1) refresh once and replay the request — only bodiless idempotent requests, whose
// replay cannot lose or duplicate a body; anything else gets the upstream's 401 as is.
import type http from 'node:http';
import type { Logger } from '../../common/logging.js';
import type { Svid } from '../identity/svid.js';
import { type ProxyRequest, type ProxyResponse, replyText } from '../net/http-proxy.js';
import type { UpstreamResponse } from '../net/http1-client.js';
import { isInvalidTokenChallenge } from '../token/challenge.js';

export interface TokenSource {
  get(svid: Svid): Promise<string>;
  invalidate(svid: Svid, token: string): void;
}

export type Send = (extra: http.OutgoingHttpHeaders, intercept?: (up: UpstreamResponse) => boolean) => void;

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** Idempotent (RFC 9110 §9.2.2) and without a body we would have to buffer to replay. */
export function isReplayable(req: ProxyRequest): boolean {
  if (!IDEMPOTENT.has(req.method ?? '')) return false;
  if (req.headers['transfer-encoding']) return false;
  const length = req.headers['content-length'];
  return length === undefined || length === '0';
}

async function tokenOrReply(
  tokens: TokenSource,
  svid: Svid,
  res: ProxyResponse,
  log: Logger,
): Promise<string | null> {
  try {
    return await tokens.get(svid);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no access token for outbound request');
    replyText(res, 503, 'no access token could be obtained', 'token_unavailable');
    return null;
  }
}

/** Forwards with a token bound to `svid`, retrying once on an upstream invalid_token. */
export async function forwardWithToken(
  req: ProxyRequest,
  res: ProxyResponse,
  svid: Svid,
  tokens: TokenSource,
  send: Send,
  log: Logger,
): Promise<void> {
  const token = await tokenOrReply(tokens, svid, res, log);
  if (token === null || res.writableEnded) return;
  const retry = async () => {
    const fresh = await tokenOrReply(tokens, svid, res, log);
    if (fresh !== null) send({ authorization: `Bearer ${fresh}` });
  };
  const intercept = (up: UpstreamResponse): boolean => {
    if (up.statusCode !== 401 || !isInvalidTokenChallenge(up.headers['www-authenticate'])) return false;
    up.resume();
    tokens.invalidate(svid, token);
    log.info({ status: 401 }, 'upstream rejected the access token; refreshing once and retrying');
    void retry();
    return true;
  };
  send({ authorization: `Bearer ${token}` }, isReplayable(req) ? intercept : undefined);
}
