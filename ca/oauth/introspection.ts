// POST /introspect (RFC 7662): an authenticated mesh caller asks whether a token is active. Our
// own valid tokens answer with their claims and `cnf`; anything else is exactly {"active": false}.
import type { Clock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import type { Store } from '../store/store.js';
import { verifyOwnAccessToken } from './access-token.js';
import { authenticateClient, type Client } from './client-auth.js';
import { parseForm } from './form.js';
import type { SigningKeys } from './signing-keys.js';
import type { TokenRequest } from './token-endpoint.js';

export type IntrospectionResponse =
  | { readonly active: false }
  | ({ readonly active: true } & Record<string, unknown>);

export interface IntrospectionOptions {
  readonly clock: Clock;
  readonly store: Store;
  readonly trustDomain: string;
  readonly keys: SigningKeys;
  readonly issuer: () => string;
}

/** Claims copied into an active answer (RFC 7662 §2.2), plus token_type. */
const ANSWER_CLAIMS = ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'nbf', 'jti', 'cnf'] as const;

export const INACTIVE: IntrospectionResponse = Object.freeze({ active: false });

export class Introspection {
  constructor(private readonly o: IntrospectionOptions) {}

  /** Authenticates the caller (throws ERR_CLIENT_AUTH_FAILED), then answers about the token. */
  async handle(req: TokenRequest): Promise<{ caller: Client; answer: IntrospectionResponse }> {
    const params = parseForm(req.contentType, req.body);
    const caller = await authenticateClient(req.presented, this.o.trustDomain, this.o.store);
    const token = params.get('token');
    if (!token) throw new TetherError('ERR_TOKEN_REQUEST_INVALID', 'token is missing');
    return { caller, answer: await this.inspect(token) };
  }

  /** The answer for one token string. */
  async inspect(token: string): Promise<IntrospectionResponse> {
    const payload = await verifyOwnAccessToken(
      token,
      this.o.keys.jwks(),
      this.o.issuer(),
      this.o.clock.now(),
    );
    if (!payload) return INACTIVE;
    const answer: Record<string, unknown> = { active: true, token_type: 'Bearer' };
    for (const claim of ANSWER_CLAIMS) if (payload[claim] !== undefined) answer[claim] = payload[claim];
    return answer as IntrospectionResponse;
  }
}
