// Finds an authorization server's endpoints from its metadata: RFC 8414
// (`/.well-known/oauth-authorization-server`, inserted before the issuer's path), falling back to
// OpenID Connect Discovery (`/.well-known/openid-configuration`, appended). A client doing mTLS
// must use `mtls_endpoint_aliases` when present (RFC 8705 §5).
import { type AsTls, requestJson } from './https-json.js';

/** The endpoints a sidecar needs, already resolved to their mTLS aliases. */
export interface AsEndpoints {
  readonly issuer: string;
  readonly tokenEndpoint: string | undefined;
  readonly jwksUri: string | undefined;
  readonly introspectionEndpoint: string | undefined;
}

/** Both well-known locations for an issuer, RFC 8414 §3.1 first. */
export function wellKnownUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`,
  ];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Reads metadata; RFC 8414 §3.3: the issuer in it must be exactly the one we asked about. */
export function endpointsFrom(issuer: string, meta: unknown): AsEndpoints {
  if (typeof meta !== 'object' || meta === null) throw new Error('metadata is not a JSON object');
  const m = meta as Record<string, unknown>;
  if (m['issuer'] !== issuer)
    throw new Error(`metadata names issuer ${JSON.stringify(m['issuer'])}, expected ${issuer}`);
  const aliases = (
    typeof m['mtls_endpoint_aliases'] === 'object' ? m['mtls_endpoint_aliases'] : {}
  ) as Record<string, unknown>;
  return {
    issuer,
    tokenEndpoint: str(aliases['token_endpoint']) ?? str(m['token_endpoint']),
    jwksUri: str(m['jwks_uri']),
    introspectionEndpoint: str(aliases['introspection_endpoint']) ?? str(m['introspection_endpoint']),
  };
}

/** Fetches the metadata, trying RFC 8414 then OpenID discovery; throws with both reasons. */
export async function discover(issuer: string, tls: AsTls): Promise<AsEndpoints> {
  const problems: string[] = [];
  for (const url of wellKnownUrls(issuer)) {
    try {
      const res = await requestJson(url, { tls });
      if (res.status !== 200) {
        problems.push(`${url}: HTTP ${res.status}`);
        continue;
      }
      return endpointsFrom(issuer, res.json);
    } catch (err) {
      problems.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new Error(`no usable authorization server metadata for ${issuer} (${problems.join('; ')})`);
}

/** Caches one issuer's endpoints; a failed lookup is retried after `retryMs`, not on every call. */
export class Discovery {
  private cached: Promise<AsEndpoints> | null = null;
  private failedAt = 0;

  constructor(
    private readonly issuer: string,
    private readonly tls: () => AsTls,
    private readonly now: () => number = Date.now,
    private readonly retryMs = 2_000,
  ) {}

  endpoints(): Promise<AsEndpoints> {
    if (this.cached && !(this.failedAt && this.now() - this.failedAt >= this.retryMs)) return this.cached;
    this.failedAt = 0;
    const p = discover(this.issuer, this.tls());
    p.catch(() => {
      this.failedAt = this.now();
    });
    this.cached = p;
    return p;
  }
}
