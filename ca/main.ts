// `tether ca serve`: wires store, authority, attestors, issuer and the gRPC and ops listeners
// together, runs the rotation schedule, and shuts down cleanly on SIGTERM/SIGINT.

import type { Server as HttpServer } from 'node:http';
import tls from 'node:tls';
import { splitHostPort } from '../common/address.js';
import { type Clock, systemClock } from '../common/clock.js';
import type { Logger } from '../common/logging.js';
import type { Attestor } from './attestation/attestor.js';
import { JoinTokenAttestor } from './attestation/join-token.js';
import { lazyKubernetesApi } from './attestation/kubernetes-api.js';
import { kubernetesAttestor } from './attestation/kubernetes-setup.js';
import { RenewalAttestor } from './attestation/renewal.js';
import { Authority } from './authority/authority.js';
import { dataDirPaths } from './authority/data-dir.js';
import { readPassphrase } from './authority/keys.js';
import { ServingIdentity } from './authority/serving-identity.js';
import type { CaConfig } from './config/load.js';
import { CaGrpcServer } from './grpc/server.js';
import { startKubernetes } from './injector/start.js';
import { Issuer } from './issuer/issuer.js';
import { FailureTracker } from './limits/failure-tracker.js';
import { TokenBucket } from './limits/token-bucket.js';
import { type RunningTokenServer, startTokenServer } from './oauth/start.js';
import { ActivityLog } from './ops/activity.js';
import { startOpsServer } from './ops/http.js';
import { CaMetrics } from './ops/metrics.js';
import { gatherStatus } from './ops/status.js';
import { SqliteStore } from './store/sqlite.js';
import type { Store } from './store/store.js';

export interface RunningCa {
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** The token endpoint's port, when `oauth.listen` is set. */
  readonly tokenPort: number | null;
  /** The injection webhook's port, when `kubernetes.injector.listen` is set. */
  readonly injectorPort: number | null;
  readonly authority: Authority;
  close(): Promise<void>;
}

/** Identities listed on the status page (the latest certificate of each). */
const STATUS_MAX_IDENTITIES = 500;

function updateGauges(metrics: CaMetrics, authority: Authority): void {
  metrics.caExpiry.reset();
  for (const g of authority.generations()) {
    if (g.state === 'retired') continue;
    metrics.caExpiry.set({ kind: g.kind, generation: g.id, state: g.state }, Math.floor(g.notAfter / 1000));
  }
  metrics.bundleSequence.set(authority.bundle().sequence);
}

/** Starts the CA; resolves once both listeners are bound. */
export async function serveCa(config: CaConfig, log: Logger, clock: Clock = systemClock): Promise<RunningCa> {
  tls.DEFAULT_MIN_VERSION = 'TLSv1.3'; // design: TLS 1.3 inside the mesh
  const dir = dataDirPaths(config.dataDir);
  const passphrase = readPassphrase({ env: config.passphraseEnv, file: config.passphraseFile });
  const store: Store = new SqliteStore(dir.dbFile, { create: false });
  const metrics = new CaMetrics();
  const authority = await Authority.open({
    store,
    storage: { keysDir: dir.keysDir, passphrase },
    clock,
    log: log.child({ module: 'authority' }),
    policy: {
      intermediateTtlSeconds: config.intermediateTtlSeconds,
      rootTtlSeconds: config.rootTtlSeconds,
      rootPropagationSeconds: config.rootPropagationSeconds,
      maxLeafTtlSeconds: config.maxTtlSeconds,
    },
  });
  if (config.intermediateTtlSeconds / 6 < config.maxTtlSeconds) {
    log.warn(
      { intermediateTtlSeconds: config.intermediateTtlSeconds, maxTtlSeconds: config.maxTtlSeconds },
      'the last sixth of an intermediate is shorter than ttl.max: leaves issued near a rotation are capped at the intermediate expiry',
    );
  }
  for (const step of await authority.rotate()) metrics.rotations.inc({ step: step.kind });
  const serving = new ServingIdentity({
    authority,
    store,
    clock,
    log: log.child({ module: 'serving-identity' }),
    dnsNames: config.dnsNames,
    ttlSeconds: config.servingTtlSeconds,
  });
  await serving.refresh();

  const kubernetesApi = lazyKubernetesApi();
  const k8s = kubernetesAttestor(config.kubernetes, {
    trustDomain: authority.trustDomain,
    clock,
    log: log.child({ module: 'kubernetes' }),
    api: kubernetesApi,
  });
  const attestors: Attestor[] = [
    new JoinTokenAttestor(store),
    new RenewalAttestor(authority),
    ...(k8s ? [k8s] : []),
  ];
  const failures = new FailureTracker(
    {
      maxFailures: config.failures.max,
      windowMs: config.failures.windowMs,
      blockMs: config.failures.blockMs,
      maxKeys: 100_000,
    },
    clock,
  );
  const activity = new ActivityLog();
  const issuer = new Issuer({
    log: log.child({ module: 'issuer' }),
    clock,
    authority,
    store,
    attestors,
    ttl: { defaultTtlSeconds: config.defaultTtlSeconds, maxTtlSeconds: config.maxTtlSeconds },
    csrRate: new TokenBucket(config.csrPerSecond, config.csrBurst, clock),
    failures,
    metrics,
    maxCsrBytes: config.maxCsrBytes,
    activity,
  });
  const grpc = new CaGrpcServer({
    log: log.child({ module: 'grpc' }),
    issuer,
    authority,
    serving,
    metrics,
    maxMessageBytes: config.maxMessageBytes,
  });
  const grpcPort = await grpc.listen(config.listen);
  const ops = splitHostPort(config.metricsListen);
  const notReadyReason = () => {
    try {
      authority.signingCa();
    } catch {
      return 'no active signing CA';
    }
    return serving.get() ? null : 'no serving certificate';
  };
  const opsServer: { server: HttpServer; port: number } = await startOpsServer(
    {
      log,
      metrics,
      notReadyReason,
      status: () => gatherStatus({ store, clock, maxIdentities: STATUS_MAX_IDENTITIES, activity, failures }),
    },
    ops.host,
    ops.port,
  );
  updateGauges(metrics, authority);
  const { listen: tokenListen } = config.oauth;
  const tokens: RunningTokenServer | null = tokenListen
    ? await startTokenServer({
        config: { ...config.oauth, listen: tokenListen },
        log,
        clock,
        metrics,
        authority,
        serving,
        store,
        failures,
        keysDir: dir.keysDir,
        passphrase,
      })
    : null;
  const kubernetes = await startKubernetes(config.kubernetes, {
    log,
    authority,
    serving,
    api: kubernetesApi,
  });

  let ticking = false;
  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      await authority.refreshIfChanged();
      for (const step of await authority.rotate()) metrics.rotations.inc({ step: step.kind });
      await serving.refresh();
      await tokens?.tick();
      updateGauges(metrics, authority);
    } catch (err) {
      log.error({ err }, 'CA maintenance tick failed; will retry');
    } finally {
      ticking = false;
    }
  };
  const timer = setInterval(() => void tick(), config.checkIntervalMs);
  authority.onChange((change) => {
    if (change.bundleChanged)
      log.info(
        { sequence: authority.bundle().sequence, roots: authority.bundle().roots.length },
        'trust bundle changed',
      );
    if (change.signingChanged)
      log.info({ generation: authority.signingCa().generation.id }, 'signing CA changed');
  });

  log.info(
    {
      grpcPort,
      metricsPort: opsServer.port,
      trustDomain: authority.trustDomain,
      listen: config.listen,
      ...(tokens ? { tokenPort: tokens.port, issuer: tokens.issuer } : {}),
      ...(kubernetes.injectorPort !== null ? { injectorPort: kubernetes.injectorPort } : {}),
    },
    'CA serving',
  );
  return {
    grpcPort,
    metricsPort: opsServer.port,
    tokenPort: tokens?.port ?? null,
    injectorPort: kubernetes.injectorPort,
    authority,
    async close() {
      clearInterval(timer);
      await tokens?.close();
      await kubernetes.close();
      await grpc.close(5000);
      await new Promise<void>((resolve) => opsServer.server.close(() => resolve()));
      await store.close();
    },
  };
}
