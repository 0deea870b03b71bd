// One token client per (issuer, audience, scope), shared by every outbound listener that asks for
// the same token, each fed the sidecar's identity changes.
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { OutboundTokenConfig } from '../config/load.js';
import type { IdentitySource } from '../identity/source.js';
import { asTlsFor } from './as-tls.js';
import { TokenClient } from './client.js';
import { Discovery } from './discovery.js';

export class TokenClients {
  private readonly clients = new Map<string, TokenClient>();

  constructor(
    private readonly source: IdentitySource,
    private readonly o: { now: () => number; log: Logger; metrics: SidecarMetrics },
  ) {}

  /** The shared client for `cfg`, created (and subscribed to identity changes) on first use. */
  for(cfg: OutboundTokenConfig, listener: string): TokenClient {
    const key = JSON.stringify([cfg.issuer, cfg.audience, cfg.scope ?? '', cfg.caFile ?? ''] as const);
    const existing = this.clients.get(key);
    if (existing) return existing;
    const tls = asTlsFor(() => this.source.state(), cfg.caFile);
    const client = new TokenClient({
      issuer: cfg.issuer,
      audience: cfg.audience,
      scope: cfg.scope,
      discovery: new Discovery(cfg.issuer, () => tls(), this.o.now),
      tls: (svid) => tls(svid),
      now: this.o.now,
      log: this.o.log.child({ module: 'token', listener }),
      onResult: (result) => this.o.metrics.tokenRequests.inc({ listener, result }),
    });
    this.source.subscribe((state) => client.onIdentity(state.svid));
    this.clients.set(key, client);
    return client;
  }

  stop(): void {
    for (const c of this.clients.values()) c.stop();
  }
}
