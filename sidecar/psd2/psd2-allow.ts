// Inbound authorization by PSD2 role and organization (`allow: { psd2Roles, organizationIds,
// paths }`): any listed role and any listed organization admits; a path rule (longest prefix)
// replaces the listener rule for requests under it (segment-wise, after resolving dot segments
// as token path rules do). Answers with a precise refusal reason.
import { pathOf } from '../token/scopes.js';
import type { CertificateFacts } from './certificate-facts.js';

export interface Psd2Rule {
  readonly psd2Roles?: readonly string[] | undefined;
  readonly organizationIds?: readonly string[] | undefined;
}

export interface Psd2AllowConfig extends Psd2Rule {
  readonly paths?: readonly (Psd2Rule & { readonly prefix: string })[] | undefined;
}

export interface Psd2Refusal {
  readonly reason: 'psd2_role_not_allowed' | 'organization_not_allowed';
  readonly description: string;
}

/** Null when `facts` satisfy `rule`, else why not. */
export function checkRule(rule: Psd2Rule, facts: CertificateFacts): Psd2Refusal | null {
  const who = facts.organizationId ?? 'a peer without organizationIdentifier';
  if (
    rule.psd2Roles &&
    rule.psd2Roles.length > 0 &&
    !rule.psd2Roles.some((r) => facts.psd2Roles.includes(r))
  ) {
    const held = facts.psd2Roles.length > 0 ? facts.psd2Roles.join(', ') : 'no PSD2 role';
    return {
      reason: 'psd2_role_not_allowed',
      description: `${who} holds ${held}; this resource requires one of ${rule.psd2Roles.join(', ')}`,
    };
  }
  if (
    rule.organizationIds &&
    rule.organizationIds.length > 0 &&
    !(facts.organizationId && rule.organizationIds.includes(facts.organizationId))
  ) {
    return { reason: 'organization_not_allowed', description: `${who} is not an allowed organization` };
  }
  return null;
}

/** The rule that governs request target `url`: the longest matching path prefix, else the listener's. */
export function ruleFor(cfg: Psd2AllowConfig, url: string): Psd2Rule {
  if (!cfg.paths || cfg.paths.length === 0) return cfg;
  const path = pathOf(url);
  let best: (Psd2Rule & { prefix: string }) | undefined;
  for (const p of cfg.paths) {
    const matches = path === p.prefix || path.startsWith(p.prefix.endsWith('/') ? p.prefix : `${p.prefix}/`);
    if (matches && (!best || p.prefix.length > best.prefix.length)) best = p;
  }
  return best ?? cfg;
}
