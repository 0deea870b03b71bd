// POST /token as a list of small named checks (like node-oidc-provider's token action):
//   parseBody → authenticateClient → checkGrantType → checkClientId → resolveAudience →
//   resolveScopes, then issue. Each check throws a TetherError the edge maps to an OAuth error.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import { x5tS256 } from '../../common/x509.js';
import { SCOPE_TOKEN } from '../config/schema.js';
import type { Store } from '../store/store.js';
import { type AccessTokenClaims, signAccessToken } from './access-token.js';
import { authenticateClient, type Client, type PresentedCertificate } from './client-auth.js';
import { parseForm } from './form.js';
import type { ScopePolicy } from './policy.js';
import type { SigningKeys } from './signing-keys.js';

export interface TokenRequest {
  readonly presented: PresentedCertificate;
  readonly contentType: string | undefined;
  readonly body: string;
}

/** RFC 6749 §5.1 success body. RFC 8705 tokens are still `Bearer` on the wire. */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope?: string;
}

export interface TokenEndpointOptions {
  readonly clock: Clock;
  readonly store: Store;
  readonly trustDomain: string;
  readonly keys: SigningKeys;
  readonly policy: ScopePolicy;
  readonly tokenTtlSeconds: number;
  /** Resolved once the listener is bound (the default issuer names the bound port). */
  readonly issuer: () => string;
}

/** What the checks establish, step by step. */
interface TokenContext {
  readonly req: TokenRequest;
  params: Map<string, string>;
  client: Client | null;
  audience: string | null;
  scopes: string[];
}

type Check = (ctx: TokenContext, o: TokenEndpointOptions) => void | Promise<void>;

const fail = (
  code: 'ERR_TOKEN_REQUEST_INVALID' | 'ERR_TARGET_INVALID' | 'ERR_SCOPE_NOT_ALLOWED',
  m: string,
) => new TetherError(code, m);

const parseBody: Check = (ctx) => {
  ctx.params = parseForm(ctx.req.contentType, ctx.req.body);
};

const authenticate: Check = async (ctx, o) => {
  ctx.client = await authenticateClient(ctx.req.presented, o.trustDomain, o.store);
};

const checkGrantType: Check = (ctx) => {
  const grant = ctx.params.get('grant_type');
  if (!grant) throw fail('ERR_TOKEN_REQUEST_INVALID', 'grant_type is missing');
  if (grant !== 'client_credentials')
    throw new TetherError('ERR_GRANT_TYPE_UNSUPPORTED', 'only grant_type=client_credentials is supported');
};

/** RFC 8705 §2: client_id is optional with tls_client_auth, but if sent it must be the certificate's ID. */
const checkClientId: Check = (ctx) => {
  const clientId = ctx.params.get('client_id');
  if (clientId !== undefined && clientId !== ctx.client!.spiffeId)
    throw new TetherError('ERR_CLIENT_AUTH_FAILED', 'client_id does not match the client certificate');
};

/** RFC 8707 §2: a resource is an absolute URI without a fragment. */
export function checkResource(resource: string): void {
  let url: URL;
  try {
    url = new URL(resource);
  } catch {
    throw fail('ERR_TARGET_INVALID', 'resource must be an absolute URI');
  }
  if (url.hash !== '' || resource.includes('#'))
    throw fail('ERR_TARGET_INVALID', 'resource must not contain a fragment');
}

const resolveAudience: Check = (ctx, o) => {
  const resource = ctx.params.get('resource');
  const audience = ctx.params.get('audience');
  if (resource !== undefined) checkResource(resource);
  if (audience === '') throw fail('ERR_TARGET_INVALID', 'audience is empty');
  if (resource !== undefined && audience !== undefined && resource !== audience)
    throw fail('ERR_TARGET_INVALID', 'resource and audience name different targets');
  const clientId = ctx.client!.spiffeId;
  let target = resource ?? audience;
  if (target === undefined) {
    const allowed = o.policy.audiencesFor(clientId);
    if (allowed.length !== 1) throw fail('ERR_TARGET_INVALID', 'name the target with resource or audience');
    target = allowed[0]!;
  }
  if (!o.policy.allowedScopes(clientId, target))
    throw fail('ERR_TARGET_INVALID', `this client may not obtain tokens for audience "${target}"`);
  ctx.audience = target;
};

/** RFC 6749 §3.3 scopes; a request without scope gets none (least privilege), never all. */
const resolveScopes: Check = (ctx, o) => {
  const requested = (ctx.params.get('scope') ?? '').split(' ').filter((s) => s !== '');
  const allowed = o.policy.allowedScopes(ctx.client!.spiffeId, ctx.audience!) ?? new Set<string>();
  for (const scope of requested) {
    if (!SCOPE_TOKEN.test(scope)) throw fail('ERR_SCOPE_NOT_ALLOWED', 'scope is malformed');
    if (!allowed.has(scope))
      throw fail(
        'ERR_SCOPE_NOT_ALLOWED',
        `scope "${scope}" is not granted to this client for "${ctx.audience}"`,
      );
  }
  ctx.scopes = [...new Set(requested)];
};

/** The checks in order; exported so tests can name and reorder nothing by accident. */
export const TOKEN_CHECKS: readonly (readonly [string, Check])[] = [
  ['parseBody', parseBody],
  ['authenticateClient', authenticate],
  ['checkGrantType', checkGrantType],
  ['checkClientId', checkClientId],
  ['resolveAudience', resolveAudience],
  ['resolveScopes', resolveScopes],
];

export interface IssuedToken {
  readonly response: TokenResponse;
  readonly claims: AccessTokenClaims;
}

export class TokenEndpoint {
  constructor(private readonly o: TokenEndpointOptions) {}

  /** Runs every check, then signs the token; throws a TetherError on the first failing check. */
  async handle(req: TokenRequest): Promise<IssuedToken> {
    const ctx: TokenContext = { req, params: new Map(), client: null, audience: null, scopes: [] };
    for (const [, check] of TOKEN_CHECKS) await check(ctx, this.o);
    const claims = this.claimsFor(ctx.client!, ctx.audience!, ctx.scopes);
    const access_token = await signAccessToken(claims, this.o.keys.signer());
    const scope = claims.scope;
    return {
      claims,
      response: {
        access_token,
        token_type: 'Bearer',
        expires_in: this.o.tokenTtlSeconds,
        ...(scope ? { scope } : {}),
      },
    };
  }

  private claimsFor(client: Client, audience: string, scopes: readonly string[]): AccessTokenClaims {
    const iat = Math.floor(this.o.clock.now() / 1000);
    return {
      iss: this.o.issuer(),
      sub: client.spiffeId,
      aud: audience,
      client_id: client.spiffeId,
      ...(scopes.length > 0 ? { scope: scopes.join(' ') } : {}),
      cnf: { 'x5t#S256': x5tS256(client.leafDer) },
      jti: randomUUID(),
      iat,
      nbf: iat,
      exp: iat + this.o.tokenTtlSeconds,
    };
  }
}
