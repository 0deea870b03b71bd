// Starts the authorization server inside `tether ca serve`: opens the token signing keys, builds
// the policy, binds the HTTPS listener, and keeps the key set in step with CLI rotations.
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logging.js';
import type { Authority } from '../authority/authority.js';
import type { ServingIdentity } from '../authority/serving-identity.js';
import type { OAuthConfig } from '../config/load.js';
import type { FailureTracker } from '../limits/failure-tracker.js';
import type { CaMetrics } from '../ops/metrics.js';
import type { Store } from '../store/store.js';
import { ScopePolicy } from './policy.js';
import { OAuthServer } from './server.js';
import { SigningKeys } from './signing-keys.js';

export interface TokenServerDeps {
  readonly config: OAuthConfig & { readonly listen: string };
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: CaMetrics;
  readonly authority: Authority;
  readonly serving: ServingIdentity;
  readonly store: Store;
  readonly failures: FailureTracker;
  readonly keysDir: string;
  readonly passphrase: string | null;
}

export interface RunningTokenServer {
  readonly port: number;
  readonly issuer: string;
  /** Runs the signing key schedule once (call from the CA's maintenance tick). */
  tick(): Promise<void>;
  close(): Promise<void>;
}

/** Opens the signing keys and binds the token endpoint; resolves once it listens. */
export async function startTokenServer(d: TokenServerDeps): Promise<RunningTokenServer> {
  const policy = new ScopePolicy(d.config.policies);
  const keys = await SigningKeys.open({
    store: d.store,
    keysDir: d.keysDir,
    passphrase: d.passphrase,
    clock: d.clock,
    log: d.log.child({ module: 'token-keys' }),
    policy: {
      signingKeyTtlSeconds: d.config.signingKeyTtlSeconds,
      tokenTtlSeconds: d.config.tokenTtlSeconds,
    },
  });
  const unsubscribe = d.authority.onStoreChange(() => keys.reload());
  const server = new OAuthServer({
    log: d.log.child({ module: 'oauth' }),
    clock: d.clock,
    metrics: d.metrics,
    authority: d.authority,
    serving: d.serving,
    store: d.store,
    failures: d.failures,
    keys,
    policy,
    tokenTtlSeconds: d.config.tokenTtlSeconds,
    issuer: d.config.issuer,
  });
  const port = await server.listen(d.config.listen);
  return {
    port,
    issuer: server.issuer(),
    tick: async () => {
      await keys.rotate(false);
    },
    close: async () => {
      unsubscribe();
      await server.close();
    },
  };
}
