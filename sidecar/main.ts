// `tether sidecar run`: wires identity, admin, inbound and outbound listeners together, swaps
// TLS material atomically on every identity change, and drains on SIGTERM/SIGINT.
import type { AddressInfo, Server } from 'node:net';
import type tls from 'node:tls';
import { splitHostPort } from '../common/address.js';
import { type Clock, systemClock } from '../common/clock.js';
import { TetherError } from '../common/errors.js';
import type { Logger } from '../common/logging.js';
import { SidecarMetrics } from './admin/metrics.js';
import { type ListenerInfo, startAdminServer } from './admin/server.js';
import { hasCa, type InboundConfig, type OutboundConfig, type SidecarConfig } from './config/load.js';
import { type Drainable, drainable } from './drain.js';
import { CaConnection } from './identity/ca-connection.js';
import { fileWriter } from './identity/files.js';
import { ListenerIdentities } from './identity/listener-identities.js';
import { allReady, type IdentityProvider } from './identity/provider.js';
import { IdentitySource } from './identity/source.js';
import { compileAllowList } from './inbound/allow.js';
import { guardHeaderTimeout } from './inbound/header-timeout.js';
import { createHttpInbound } from './inbound/http.js';
import { refuseRenegotiation } from './inbound/no-renegotiation.js';
import { createTcpInbound } from './inbound/tcp.js';
import { createHttpOutbound } from './outbound/http.js';
import { createTcpOutbound } from './outbound/tcp.js';
import { contextOptions, fapiKeyProblem } from './tls/contexts.js';
import { type ClientContexts, clientContexts, requireFapiKey } from './tls/listener-tls.js';
import type { createTokenCheck } from './token/inbound-check.js';
import type { TokenClients } from './token/registry.js';

export interface RunningSidecar {
  readonly adminPort: number;
  readonly ports: Record<string, number>;
  /** The sidecar's default identity (the mesh CA's, or its certificate files). */
  readonly source: IdentityProvider;
  /** Stops accepting, drains up to the grace period, stops renewing. */
  close(): Promise<void>;
}

async function listen(server: Server, address: string, name: string): Promise<number> {
  const { host, port } = splitHostPort(address);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
      reject(
        new TetherError('ERR_LISTEN_FAILED', `${name} cannot listen on ${address}: ${why}`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

interface TokenSupport {
  readonly createTokenCheck: typeof createTokenCheck;
  readonly TokenClients: typeof TokenClients;
}

/** Token support (jose, the OAuth clients) loads only when a listener uses tokens: ~200 ms of start. */
async function loadTokenSupport(config: SidecarConfig): Promise<TokenSupport | null> {
  if (![...config.inbound, ...config.outbound].some((l) => l.token)) return null;
  const [check, registry] = await Promise.all([
    import('./token/inbound-check.js'),
    import('./token/registry.js'),
  ]);
  return { createTokenCheck: check.createTokenCheck, TokenClients: registry.TokenClients };
}

function createInbound(
  cfg: InboundConfig,
  source: IdentityProvider,
  metrics: SidecarMetrics,
  log: Logger,
  clock: Clock,
  tokens: TokenSupport | null,
): tls.Server {
  requireFapiKey(cfg, source, 'inbound');
  const tlsOptions = contextOptions(source.state(), cfg.minTlsVersion, cfg.tlsProfile)!;
  const tokenGate =
    cfg.token && tokens?.createTokenCheck(cfg.token, { state: () => source.state(), now: () => clock.now() });
  const deps = {
    ...(tokenGate ? { tokenGate } : {}),
    cfg,
    allow: compileAllowList(cfg.allow),
    ready: () => source.isReady(),
    ownId: () => source.state().svid?.spiffeId ?? '',
    metrics,
    log: log.child({ listener: cfg.name }),
    tlsOptions,
    admitOptions: {
      psd2: cfg.psd2Allow && { allow: cfg.psd2Allow, checkNow: cfg.protocol === 'tcp' },
      fapi: cfg.tlsProfile === 'fapi',
    },
  };
  const server: tls.Server = cfg.protocol === 'tcp' ? createTcpInbound(deps) : createHttpInbound(deps);
  server.maxConnections = cfg.maxConnections;
  // With a listener attached, Node leaves the failed socket open: destroy it here.
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
    socket.destroy();
    metrics.handshakes.inc({
      direction: 'inbound',
      listener: cfg.name,
      result: 'failed',
      reason: String(err.code ?? 'error').toLowerCase(),
    });
    log.warn({ listener: cfg.name, err: err.message, code: err.code }, 'inbound TLS handshake failed');
  });
  server.on('secureConnection', (socket: tls.TLSSocket) =>
    refuseRenegotiation(socket, () => {
      metrics.handshakes.inc({
        direction: 'inbound',
        listener: cfg.name,
        result: 'refused',
        reason: 'renegotiation',
      });
      log.warn({ listener: cfg.name, peer: socket.remoteAddress }, 'inbound TLS renegotiation refused');
    }),
  );
  // Past maxConnections Node closes new sockets at once; count them so the limit is visible.
  server.on('drop', (d?: { remoteAddress?: string }) => {
    metrics.handshakes.inc({
      direction: 'inbound',
      listener: cfg.name,
      result: 'refused',
      reason: 'max_connections',
    });
    log.warn({ listener: cfg.name, peer: d?.remoteAddress }, 'inbound connection refused at maxConnections');
  });
  if (cfg.protocol === 'http')
    guardHeaderTimeout(server, cfg.headerTimeoutMs, (socket) =>
      log.warn({ listener: cfg.name, peer: socket.remoteAddress }, 'inbound request headers timed out'),
    );
  // New connections use the new certificate and bundle; live ones keep theirs.
  source.subscribe((state) => {
    const problem = cfg.tlsProfile === 'fapi' ? fapiKeyProblem(state) : null;
    if (problem) {
      log.error({ listener: cfg.name, reason: problem }, 'new certificate not used');
      return;
    }
    const options = contextOptions(state, cfg.minTlsVersion, cfg.tlsProfile);
    if (options) server.setSecureContext(options);
  });
  return server;
}

export async function runSidecar(
  config: SidecarConfig,
  log: Logger,
  clock: Clock = systemClock,
): Promise<RunningSidecar> {
  const metrics = new SidecarMetrics();
  const caSource = hasCa(config)
    ? new IdentitySource({
        config,
        ca: new CaConnection({
          address: config.ca.address,
          trustDomain: config.trustDomain,
          timeoutMs: config.ca.timeoutMs,
        }),
        log: log.child({ module: 'identity' }),
        clock,
        metrics,
      })
    : null;
  // Operator files are read now: a missing or broken file is a configuration error.
  const identities = new ListenerIdentities({
    ca: caSource,
    defaults: { identity: config.identity, trustFile: config.trustFile },
    log: log.child({ module: 'identity-files' }),
    clock,
  });
  const providerOf = (l: InboundConfig | OutboundConfig) => identities.for(l);
  let source: IdentityProvider;
  try {
    const all = [...config.inbound, ...config.outbound].map(providerOf);
    const main = identities.canProvide({ identity: undefined, trustFile: undefined })
      ? identities.for({ identity: undefined, trustFile: undefined })
      : (all[0] ?? caSource!);
    source = allReady(main, all);
  } catch (err) {
    identities.stop();
    throw err;
  }
  const listeners: ListenerInfo[] = [];
  const admin = await startAdminServer(config.admin, { source, metrics, log, listeners: () => listeners });
  log.info({ adminPort: admin.port }, 'sidecar admin listening');
  if (config.files) source.subscribe(fileWriter(config.files.dir, config.files.mode, log));
  try {
    await caSource?.start();
  } catch (err) {
    caSource?.stop();
    identities.stop();
    admin.server.close();
    admin.server.closeAllConnections();
    throw err;
  }

  const contextsByProvider = new Map<IdentityProvider, ClientContexts>();
  const contextsFor = (p: IdentityProvider) => {
    if (!contextsByProvider.has(p)) contextsByProvider.set(p, clientContexts(p));
    return contextsByProvider.get(p)!;
  };
  const tokens = await loadTokenSupport(config);
  const tokenClients = tokens && new tokens.TokenClients(source, { now: () => clock.now(), log, metrics });
  const stopAll = () => {
    caSource?.stop();
    identities.stop();
    tokenClients?.stop();
  };
  const servers: { name: string; address: string; drain: Drainable; info: Omit<ListenerInfo, 'port'> }[] = [];
  // Building may fail (e.g. a fapi listener without an RSA key): cleaned up with listen failures below.
  const build = () => {
    for (const cfg of config.inbound) {
      servers.push({
        name: `inbound.${cfg.name}`,
        address: cfg.listen,
        drain: drainable(createInbound(cfg, providerOf(cfg), metrics, log, clock, tokens)),
        info: {
          name: cfg.name,
          direction: 'inbound',
          listen: cfg.listen,
          protocol: cfg.protocol,
          target: cfg.forward,
        },
      });
    }
    for (const cfg of config.outbound) {
      const provider = providerOf(cfg);
      requireFapiKey(cfg, provider, 'outbound');
      const contexts = contextsFor(provider);
      const deps = {
        cfg,
        context: () => contexts(cfg.minTlsVersion, cfg.tlsProfile),
        svid: () => provider.state().svid,
        metrics,
        log: log.child({ listener: cfg.name }),
        ...(cfg.token && tokenClients ? { tokens: tokenClients.for(cfg.token, cfg.name, provider) } : {}),
      };
      const server = cfg.protocol === 'tcp' ? createTcpOutbound(deps) : createHttpOutbound(deps);
      servers.push({
        name: `outbound.${cfg.name}`,
        address: cfg.listen,
        drain: drainable(server),
        info: {
          name: cfg.name,
          direction: 'outbound',
          listen: cfg.listen,
          protocol: cfg.protocol,
          target: cfg.upstream,
        },
      });
    }
  };
  const ports: Record<string, number> = {};
  try {
    build();
    for (const s of servers) {
      ports[s.name] = await listen(s.drain.server, s.address, s.name);
      listeners.push({ ...s.info, port: ports[s.name]! });
    }
  } catch (err) {
    // Nothing half-started may keep the process alive: close what is open, then report.
    for (const s of servers) s.drain.server.close();
    stopAll();
    admin.server.close();
    admin.server.closeAllConnections();
    throw err;
  }
  log.info({ adminPort: admin.port, ports, spiffeId: source.state().svid?.spiffeId }, 'sidecar ready');

  return {
    adminPort: admin.port,
    ports,
    source,
    async close() {
      log.info({ graceMs: config.shutdownGraceMs }, 'draining');
      await Promise.all(servers.map((s) => s.drain.drain(config.shutdownGraceMs)));
      stopAll();
      await new Promise<void>((resolve) => admin.server.close(() => resolve()));
      admin.server.closeAllConnections();
    },
  };
}
