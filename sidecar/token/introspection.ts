// Introspection mode (RFC 7662): ask the AS about each token over mTLS (our SVID authenticates
// us, client_id = our SPIFFE ID), cache the answer for at most 30 s and never past the token's
// exp, then apply the same issuer/audience/expiry checks as for a JWT.
import { createHash } from 'node:crypto';
import { reject, type TokenRejection } from './challenge.js';
import type { AsTls } from './https-json.js';
import { requestJson } from './https-json.js';

export const INTROSPECTION_CACHE_MS = 30_000;
const MAX_ENTRIES = 10_000;

export interface IntrospectorOptions {
  readonly issuer: string;
  readonly audience: string;
  /** Resolves the (mTLS alias of the) introspection endpoint. */
  readonly endpoint: () => Promise<string | undefined>;
  readonly tls: () => AsTls;
  readonly clientId: () => string;
  readonly now: () => number;
}

type Answer = { readonly ok: true; readonly claims: Record<string, unknown> } | TokenRejection;
const invalid = (reason: string, description: string) => reject(401, 'invalid_token', reason, description);

function audiences(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : [];
}

/** Checks an RFC 7662 answer; `iss`/`aud` are optional there, but must match when present. */
export function judgeIntrospection(
  body: unknown,
  o: { issuer: string; audience: string; nowMs: number },
): Answer {
  if (typeof body !== 'object' || body === null)
    return invalid('malformed', 'unreadable introspection answer');
  const c = body as Record<string, unknown>;
  if (c['active'] !== true) return invalid('inactive', 'the token is not active');
  if (c['iss'] !== undefined && c['iss'] !== o.issuer)
    return invalid('wrong_issuer', 'the token was issued by another authorization server');
  if (c['aud'] !== undefined && !audiences(c['aud']).includes(o.audience))
    return invalid('wrong_audience', 'the token is not meant for this resource');
  if (typeof c['exp'] === 'number' && c['exp'] * 1000 <= o.nowMs)
    return invalid('expired', 'the token has expired');
  return { ok: true, claims: c };
}

/** Introspects tokens with a short cache keyed by the token's SHA-256 (never the token itself). */
export class Introspector {
  private readonly cache = new Map<string, { answer: Answer; untilMs: number }>();

  constructor(private readonly o: IntrospectorOptions) {}

  async introspect(token: string): Promise<Answer> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.o.now();
    const hit = this.cache.get(key);
    if (hit && hit.untilMs > now) return hit.answer;
    const answer = await this.ask(token);
    if (answer.ok || answer.status === 401) this.remember(key, answer, now);
    return answer;
  }

  private remember(key: string, answer: Answer, now: number): void {
    const exp =
      answer.ok && typeof answer.claims['exp'] === 'number' ? answer.claims['exp'] * 1000 : Infinity;
    if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
    this.cache.set(key, { answer, untilMs: Math.min(now + INTROSPECTION_CACHE_MS, exp) });
  }

  private async ask(token: string): Promise<Answer> {
    try {
      const url = await this.o.endpoint();
      if (!url) return reject(503, undefined, 'introspection_unavailable', 'no introspection endpoint');
      const res = await requestJson(url, {
        form: { token, token_type_hint: 'access_token', client_id: this.o.clientId() },
        tls: this.o.tls(),
      });
      if (res.status !== 200)
        return reject(503, undefined, 'introspection_unavailable', `introspection answered ${res.status}`);
      return judgeIntrospection(res.json, {
        issuer: this.o.issuer,
        audience: this.o.audience,
        nowMs: this.o.now(),
      });
    } catch {
      return reject(503, undefined, 'introspection_unavailable', 'the introspection endpoint is unreachable');
    }
  }
}
