// The inbound token pipeline, as named steps: bearer from the header → verify (JWT or
// introspection) → certificate binding → required scopes. Returns the claims or a rejection.
import type { IncomingHttpHeaders } from 'node:http';
import type { JWTVerifyGetKey } from 'jose';
import type { InboundTokenConfig } from '../config/load.js';
import type { IdentityState } from '../identity/svid.js';
import { asTlsFor } from './as-tls.js';
import { bearerFrom } from './bearer.js';
import { checkBinding } from './binding.js';
import { reject, type TokenRejection } from './challenge.js';
import { Discovery } from './discovery.js';
import { Introspector } from './introspection.js';
import { jwksFromDiscovery } from './jwks.js';
import { grantedScopes, missingScopes, requiredScopes, type ScopeRules } from './scopes.js';
import { validateJwt } from './validator.js';

export type TokenDecision = { readonly ok: true; readonly claims: Record<string, unknown> } | TokenRejection;

/** What a request offers: its headers, its target, and the thumbprint of the connection's certificate. */
export interface TokenRequest {
  readonly headers: IncomingHttpHeaders;
  readonly url: string;
  /** x5t#S256 of the certificate the peer presented on this connection. */
  readonly peerX5t: string;
}

export type VerifyToken = (token: string) => Promise<TokenDecision>;

/** Runs the pipeline with a given verifier (JWT or introspection). */
export async function checkToken(
  req: TokenRequest,
  verify: VerifyToken,
  rules: ScopeRules,
): Promise<TokenDecision> {
  const bearer = bearerFrom(req.headers);
  if (!bearer.ok) return bearer;
  const verified = await verify(bearer.token);
  if (!verified.ok) return verified;
  const unbound = checkBinding(verified.claims, req.peerX5t);
  if (unbound) return unbound;
  const required = requiredScopes(rules, req.url);
  if (missingScopes(required, grantedScopes(verified.claims)).length > 0)
    return reject(
      403,
      'insufficient_scope',
      'insufficient_scope',
      'the token lacks a scope this resource requires',
      required.join(' '),
    );
  return verified;
}

export interface InboundTokenDeps {
  readonly state: () => IdentityState;
  readonly now: () => number;
  /** Overrides the key source (tests); by default the AS's JWKS found through discovery. */
  readonly keys?: JWTVerifyGetKey;
}

/** Builds the verifier a listener's `token` config asks for. */
export function verifierFor(cfg: InboundTokenConfig, d: InboundTokenDeps): VerifyToken {
  const tls = asTlsFor(d.state, cfg.caFile);
  const discovery = new Discovery(cfg.issuer, () => tls(), d.now);
  if (cfg.mode === 'introspection') {
    const introspector = new Introspector({
      issuer: cfg.issuer,
      audience: cfg.audience,
      endpoint: async () => (await discovery.endpoints()).introspectionEndpoint,
      tls: () => tls(),
      clientId: () => cfg.clientId ?? d.state().svid?.spiffeId ?? '',
      now: d.now,
    });
    return (token) => introspector.introspect(token);
  }
  const keys = d.keys ?? jwksFromDiscovery(discovery, () => tls());
  return (token) => validateJwt(token, { issuer: cfg.issuer, audience: cfg.audience, keys, now: d.now });
}

/** The whole check for a listener: verifier built once, pipeline per request. */
export function createTokenCheck(
  cfg: InboundTokenConfig,
  d: InboundTokenDeps,
): (req: TokenRequest) => Promise<TokenDecision> {
  const verify = verifierFor(cfg, d);
  return (req) => checkToken(req, verify, cfg);
}
