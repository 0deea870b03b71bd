// Scope policy (design.md §5): which clients may obtain which scopes for which audience. Clients
// are exact SPIFFE IDs or prefixes ending in `/*`; anything no rule grants is denied.
import { TetherError } from '../../common/errors.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import type { OAuthPolicyRule } from '../config/load.js';

/** True if `clientId` is `pattern`, or starts with `pattern` minus its trailing `*` (`…/ns/shop/*`). */
export function clientMatches(pattern: string, clientId: string): boolean {
  if (!pattern.endsWith('/*')) return pattern === clientId;
  const prefix = pattern.slice(0, -1);
  return clientId.startsWith(prefix) && clientId.length > prefix.length;
}

function checkPattern(pattern: string): void {
  try {
    parseSpiffeId(pattern.endsWith('/*') ? pattern.slice(0, -2) : pattern);
  } catch (err) {
    throw new TetherError(
      'ERR_CONFIG_INVALID',
      `oauth.policies: client "${pattern}" is not a SPIFFE ID or a prefix ending in /*`,
      { cause: err },
    );
  }
}

export class ScopePolicy {
  /** Validates every client pattern; throws ERR_CONFIG_INVALID naming the bad one. */
  constructor(private readonly rules: readonly OAuthPolicyRule[]) {
    for (const rule of rules) for (const pattern of rule.clients) checkPattern(pattern);
  }

  private rulesFor(clientId: string): OAuthPolicyRule[] {
    return this.rules.filter((r) => r.clients.some((p) => clientMatches(p, clientId)));
  }

  /** Audiences any rule lets this client ask for (sorted, unique). */
  audiencesFor(clientId: string): string[] {
    return [...new Set(this.rulesFor(clientId).map((r) => r.audience))].sort();
  }

  /**
   * Scopes the client may obtain for the audience: the union over matching rules, or null when
   * no rule names both (the audience is not allowed at all).
   */
  allowedScopes(clientId: string, audience: string): ReadonlySet<string> | null {
    const rules = this.rulesFor(clientId).filter((r) => r.audience === audience);
    if (rules.length === 0) return null;
    return new Set(rules.flatMap((r) => r.scopes));
  }

  /** Every scope some rule grants, for the metadata's scopes_supported. */
  scopesSupported(): string[] {
    return [...new Set(this.rules.flatMap((r) => r.scopes))].sort();
  }
}
