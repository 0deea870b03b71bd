// Required scopes (per listener, plus the longest matching path prefix) and the scopes a token
// carries (RFC 9068 §2.2.3 `scope` string; `scp` arrays as some servers emit them).

export interface ScopeRules {
  readonly scopes: readonly string[];
  readonly paths: readonly { readonly prefix: string; readonly scopes: readonly string[] }[];
}

/** Path of a request target without its query, dot segments resolved as the WHATWG URL parser
 * does (so `/public/../admin` and `/public/%2e%2e/admin` both count as `/admin`). */
export function pathOf(url: string): string {
  try {
    return new URL(url.startsWith('/') ? url : `/${url}`, 'http://x').pathname;
  } catch {
    return url;
  }
}

/** Listener scopes plus those of the longest path prefix matching `url`. */
export function requiredScopes(rules: ScopeRules, url: string): string[] {
  const path = pathOf(url);
  let best: ScopeRules['paths'][number] | undefined;
  for (const p of rules.paths) {
    const matches = path === p.prefix || path.startsWith(p.prefix.endsWith('/') ? p.prefix : `${p.prefix}/`);
    if (matches && (!best || p.prefix.length > best.prefix.length)) best = p;
  }
  return [...new Set([...rules.scopes, ...(best?.scopes ?? [])])];
}

/** Scopes granted by a claim set (JWT payload or introspection answer). */
export function grantedScopes(claims: Record<string, unknown>): Set<string> {
  const scope = claims['scope'];
  if (typeof scope === 'string') return new Set(scope.split(' ').filter(Boolean));
  const scp = claims['scp'];
  if (Array.isArray(scp)) return new Set(scp.filter((s): s is string => typeof s === 'string'));
  return new Set();
}

/** The required scopes that are missing. */
export function missingScopes(required: readonly string[], granted: Set<string>): string[] {
  return required.filter((s) => !granted.has(s));
}
