// The workload identity lifecycle: attest once with the configured credential, renew over mTLS
// at half-life ± jitter, keep the old certificate on a failed renewal and retry with backoff,
// re-attest if the certificate expired anyway, follow the CA's bundle stream, and publish every
// change to subscribers (listeners, file output, admin).

import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ServiceError } from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import type { SidecarMetrics } from '../admin/metrics.js';
import type { CaSidecarConfig } from '../config/load.js';
import type { CaConnection } from './ca-connection.js';
import { buildCsr } from './csr.js';
import { generateWorkloadKey } from './key.js';
import { backoffMs, type Random, renewAtMs } from './schedule.js';
import { type Bundle, type IdentityState, isValidAt, makeBundle, makeSvid, type Svid } from './svid.js';

export interface IdentitySourceOptions {
  readonly config: CaSidecarConfig;
  readonly ca: CaConnection;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: SidecarMetrics;
  readonly random?: Random;
}

type Listener = (state: IdentityState) => void;

export class IdentitySource {
  private svid: Svid | null = null;
  private bundle: Bundle | null = null;
  private trustRoots: Buffer[] = [];
  private readonly listeners = new Set<Listener>();
  private renewTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private bundleTimer: NodeJS.Timeout | null = null;
  private cancelWatch: (() => void) | null = null;
  private failures = 0;
  private watchFailures = 0;
  private stopped = false;
  private readonly random: Random;

  constructor(private readonly o: IdentitySourceOptions) {
    this.random = o.random ?? Math.random;
  }

  state(): IdentityState {
    return { svid: this.svid, bundle: this.bundle };
  }

  /** Ready = a currently valid certificate and a bundle. */
  isReady(): boolean {
    return this.svid !== null && this.bundle !== null && isValidAt(this.svid, this.o.clock.now());
  }

  /** Subscribes; the listener is called now with the current state and on every change. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener(this.state());
    return () => this.listeners.delete(listener);
  }

  /** Bootstraps trust, obtains the first certificate (retrying with backoff), starts the bundle watch. */
  async start(): Promise<void> {
    this.trustRoots = await this.bootstrap();
    await this.obtain();
    this.watch();
  }

  /** Trust roots for the CA; an unreachable CA is retried, a fingerprint mismatch is fatal. */
  private async bootstrap(): Promise<Buffer[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.o.ca.bootstrapRoots(this.o.config.ca);
      } catch (err) {
        if (this.stopped || !(err instanceof TetherError) || err.code !== 'ERR_CA_NOT_READY') throw err;
        const wait = backoffMs(attempt, this.random);
        this.o.log.warn(
          { err: err.message, retryInMs: wait },
          'cannot reach the CA to bootstrap trust; retrying',
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.renewTimer, this.expiryTimer, this.bundleTimer]) if (t) clearTimeout(t);
    this.cancelWatch?.();
  }

  private publish(): void {
    const state = this.state();
    for (const l of this.listeners) l(state);
  }

  /** Reads a credential file afresh on every use (the kubelet rotates projected tokens). */
  private readCredentialFile(file: string | undefined, what: string): string | null {
    if (!file) return null;
    try {
      return readFileSync(file, 'utf8').trim() || null;
    } catch (err) {
      this.o.log.warn({ file, err: (err as Error).message }, `cannot read the ${what} file`);
      return null;
    }
  }

  /** First attestation: keeps retrying until it works or the sidecar stops. */
  private async obtain(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      try {
        await this.attest();
        return;
      } catch (err) {
        const wait = backoffMs(attempt, this.random);
        this.o.log.warn({ err: describe(err), retryInMs: wait }, 'could not obtain a certificate; retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async attest(): Promise<void> {
    const kubernetesToken = this.readCredentialFile(this.o.config.ca.kubernetesTokenFile, 'Kubernetes token');
    const token = kubernetesToken
      ? null
      : this.readCredentialFile(this.o.config.ca.joinTokenFile, 'join token');
    if (!token && !kubernetesToken) {
      throw new TetherError(
        'ERR_CREDENTIAL_MISSING',
        'no credential available: set ca.joinTokenFile to a file holding a join token ' +
          '(or ca.kubernetesTokenFile to a projected service-account token)',
      );
    }
    await this.request(token, kubernetesToken);
    this.o.metrics.renewals.inc({ result: 'attested' });
  }

  /** One SignCertificate: with `token`, or renewing over mTLS with the current certificate. */
  private async request(token: string | null, kubernetesToken: string | null = null): Promise<void> {
    const key: KeyObject = generateWorkloadKey(this.o.config.keyType);
    const res = await this.o.ca.sign(this.trustRoots, buildCsr(key), {
      joinToken: token,
      ...(kubernetesToken ? { kubernetesToken } : {}),
      identity: this.svid,
      ttlSeconds: this.o.config.ca.ttlSeconds,
    });
    const svid = makeSvid(key, res.chain, this.o.clock.now());
    if (!svid.spiffeId.startsWith(`spiffe://${this.o.config.trustDomain}/`)) {
      throw new TetherError(
        'ERR_TRUST_DOMAIN_MISMATCH',
        `the CA issued ${svid.spiffeId}, outside trust domain ${this.o.config.trustDomain}`,
      );
    }
    this.svid = svid;
    if (!this.bundle || this.bundle.sequence === 0) this.setBundle(res.roots, this.bundle?.sequence ?? 0);
    this.failures = 0;
    this.o.log.info(
      { spiffeId: svid.spiffeId, serial: svid.serial, notAfter: new Date(svid.notAfter).toISOString() },
      token || kubernetesToken ? 'certificate obtained' : 'certificate renewed',
    );
    this.o.metrics.certExpiry.set(Math.floor(svid.notAfter / 1000));
    this.schedule();
    this.publish();
  }

  private setBundle(roots: Buffer[], sequence: number): void {
    this.bundle = makeBundle(roots, sequence);
    this.trustRoots = roots;
    this.o.metrics.bundleSequence.set(sequence);
  }

  private schedule(): void {
    const svid = this.svid!;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const now = this.o.clock.now();
    const at = renewAtMs(svid.receivedAt, svid.notAfter, this.random);
    this.setRenewTimer(() => void this.renew(), Math.max(0, at - now));
    this.expiryTimer = setTimeout(() => this.expired(), Math.max(0, svid.notAfter - now));
  }

  private setRenewTimer(fn: () => void, ms: number): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = setTimeout(fn, ms);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.request(null);
      this.o.metrics.renewals.inc({ result: 'renewed' });
    } catch (err) {
      this.failures++;
      this.o.metrics.renewals.inc({ result: 'failed' });
      // Expired while this renewal was in flight: expired() already started re-attestation.
      if (!this.svid) return;
      const left = this.svid.notAfter - this.o.clock.now();
      const wait = Math.min(backoffMs(this.failures, this.random), Math.max(1000, left / 4));
      this.o.log.warn(
        { err: describe(err), retryInMs: wait, expiresInMs: left },
        'renewal failed; keeping the current certificate',
      );
      this.setRenewTimer(() => void this.renew(), wait);
    }
  }

  /** The certificate ran out before a renewal worked: stop presenting it and re-attest. */
  private expired(): void {
    if (this.stopped || !this.svid || this.o.clock.now() < this.svid.notAfter) return;
    this.o.log.error(
      { serial: this.svid.serial },
      'certificate expired before it could be renewed; not ready until re-attested',
    );
    this.svid = null;
    this.publish();
    if (this.renewTimer) clearTimeout(this.renewTimer);
    // Start re-attesting from the shortest backoff: failed renewals (retried at most a quarter
    // of the remaining life apart) would otherwise leave an unready sidecar waiting the full cap.
    this.failures = 0;
    void this.reattest();
  }

  private async reattest(): Promise<void> {
    // Only one loop at a time: a valid certificate means a renewal or attestation already won.
    if (this.stopped || (this.svid && isValidAt(this.svid, this.o.clock.now()))) return;
    try {
      await this.attest();
    } catch (err) {
      this.failures++;
      const wait = backoffMs(this.failures, this.random);
      this.o.log.warn({ err: describe(err), retryInMs: wait }, 're-attestation failed; retrying');
      this.setRenewTimer(() => void this.reattest(), wait);
    }
  }

  private watch(): void {
    if (this.stopped) return;
    this.cancelWatch = this.o.ca.watchBundle(
      this.trustRoots,
      (roots, sequence) => {
        this.watchFailures = 0;
        if (this.bundle && sequence === this.bundle.sequence && sameRoots(roots, this.bundle.roots)) return;
        if (this.bundle && sequence < this.bundle.sequence) {
          this.o.log.warn(
            { sequence, current: this.bundle.sequence },
            'ignoring a trust bundle older than the one in use',
          );
          return;
        }
        this.setBundle(roots, sequence);
        this.o.log.info({ sequence, roots: roots.length }, 'trust bundle updated');
        this.publish();
      },
      (err: ServiceError | null) => {
        if (this.stopped) return;
        this.watchFailures++;
        const wait = backoffMs(this.watchFailures, this.random);
        this.o.log.warn(
          { err: err?.details ?? 'stream ended', retryInMs: wait },
          'bundle stream ended; reconnecting',
        );
        this.bundleTimer = setTimeout(() => this.watch(), wait);
      },
    );
  }
}

function sameRoots(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  return a.length === b.length && a.every((r, i) => r.equals(b[i]!));
}

function describe(err: unknown): string {
  const e = err as Partial<ServiceError> & Error;
  return e.details ?? e.message ?? String(err);
}
