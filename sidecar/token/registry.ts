// One token client per (issuer, audience, scope), shared by every outbound listener that asks for
// the same token, each fed the sidecar's identity changes.
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { OutboundTokenConfig } from '../config/load.js';
import type { IdentityProvider } from '../identity/provider.js';
import { asTlsFor } from './as-tls.js';
import { TokenClient } from './client.js';
import { Discovery } from './discovery.js';

export class TokenClients {
  private readonly clients = new Map<string, TokenClient>();
  private readonly providerIds = new Map<IdentityProvider, number>();

  constructor(
    private readonly source: IdentityProvider,
    private readonly o: { now: () => number; log: Logger; metrics: SidecarMetrics },
  ) {}

  /** The shared client for `cfg`, created (and subscribed to identity changes) on first use. */
  for(cfg: OutboundTokenConfig, listener: string, source: IdentityProvider = this.source): TokenClient {
    if (!this.providerIds.has(source)) this.providerIds.set(source, this.providerIds.size);
    const key = JSON.stringify([
      this.providerIds.get(source),
      cfg.issuer,
      cfg.audience,
      cfg.scope ?? '',
      cfg.caFile ?? '',
      cfg.clientId ?? '',
    ] as const);
    const existing = this.clients.get(key);
    if (existing) return existing;
    const tls = asTlsFor(() => source.state(), cfg.caFile);
    const client = new TokenClient({
      issuer: cfg.issuer,
      audience: cfg.audience,
      scope: cfg.scope,
      clientId: cfg.clientId,
      discovery: new Discovery(cfg.issuer, () => tls(), this.o.now),
      tls: (svid) => tls(svid),
      now: this.o.now,
      log: this.o.log.child({ module: 'token', listener }),
      onResult: (result) => this.o.metrics.tokenRequests.inc({ listener, result }),
    });
    source.subscribe((state) => client.onIdentity(state.svid));
    this.clients.set(key, client);
    return client;
  }

  stop(): void {
    for (const c of this.clients.values()) c.stop();
  }
}
