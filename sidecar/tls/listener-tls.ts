// TLS material per listener beyond the mesh defaults: client contexts shared by every outbound
// connection of an identity (rebuilt once per change, per TLS minimum and profile), and the
// fapi rule that a listener's certificate must carry an RSA key of 2048 bits or more.
import type tls from 'node:tls';
import { TetherError } from '../../common/errors.js';
import type { InboundConfig, OutboundConfig } from '../config/load.js';
import type { IdentityProvider } from '../identity/provider.js';
import type { IdentityState } from '../identity/svid.js';
import { clientContext, fapiKeyProblem, type TlsProfile, type TlsVersion } from './contexts.js';

export type ClientContexts = (v: TlsVersion, profile: TlsProfile) => tls.SecureContext | null;

/** Client contexts per TLS minimum and profile, rebuilt once per identity change and shared by all connections. */
export function clientContexts(source: IdentityProvider): ClientContexts {
  const cache = new Map<string, tls.SecureContext | null>();
  let state: IdentityState = source.state();
  source.subscribe((s) => {
    state = s;
    cache.clear();
  });
  return (v, profile) => {
    if (!source.isReady()) return null;
    const key = `${v}/${profile}`;
    if (!cache.has(key)) cache.set(key, clientContext(state, v, profile));
    return cache.get(key) ?? null;
  };
}

/** A fapi listener refuses to start with a non-RSA or short key (its TLS 1.2 suites are RSA-only). */
export function requireFapiKey(
  cfg: InboundConfig | OutboundConfig,
  source: IdentityProvider,
  kind: string,
): void {
  const problem = cfg.tlsProfile === 'fapi' ? fapiKeyProblem(source.state()) : null;
  if (problem) throw new TetherError('ERR_CONFIG_INVALID', `${kind}.${cfg.name}: ${problem}`);
}
