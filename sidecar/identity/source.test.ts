import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseCsr } from '../../ca/csr/parse-csr.js';
import { ManualClock } from '../../common/clock.js';
import { createLogger } from '../../common/logging.js';
import { HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { SidecarMetrics } from '../admin/metrics.js';
import type { CaSidecarConfig } from '../config/load.js';
import type { CaConnection, SignResult } from './ca-connection.js';
import { IdentitySource } from './source.js';
import type { IdentityState, Svid } from './svid.js';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const LIFE_MS = 100_000;
const ID = 'spiffe://example.org/ns/shop/sa/web';
const TOKEN = 'tjt_0123456789abcdef0123456789abcdef';
const STEP_MS = 250;

const root = makeRoot(new Date(T0 - HOUR_MS), new Date(T0 + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(T0 - HOUR_MS),
  new Date(T0 + 50 * HOUR_MS),
);
const nextRoot = makeRoot(new Date(T0 - HOUR_MS), new Date(T0 + 200 * HOUR_MS));

const dir = mkdtempSync(path.join(tmpdir(), 'tether-identity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tokenFile = path.join(dir, 'join-token');

interface SignCall {
  readonly roots: readonly Buffer[];
  readonly joinToken: string | null;
  readonly identity: Svid | null;
  readonly ttlSeconds: number;
  readonly at: number;
}

/** Stands in for CaConnection: issues real leaves for the CSR's key, fails on demand. */
class FakeCa {
  readonly calls: SignCall[] = [];
  readonly watches: {
    onBundle: (roots: Buffer[], sequence: number) => void;
    onEnd: (err: null) => void;
    cancelled: boolean;
  }[] = [];
  failRenewals = false;
  failAttestations = false;
  /** Everything fails, each call only after this long (an unreachable CA and the gRPC deadline). */
  down = false;
  downDelayMs = 10_000;
  /** Join tokens are single-use, as at the real CA. */
  singleUseTokens = false;
  private readonly usedTokens = new Set<string>();

  constructor(private readonly clock: ManualClock) {}

  async bootstrapRoots(): Promise<Buffer[]> {
    return [root.der];
  }

  async sign(
    roots: readonly Buffer[],
    csr: Buffer,
    o: { joinToken: string | null; identity: Svid | null; ttlSeconds: number },
  ): Promise<SignResult> {
    const now = this.clock.now();
    this.calls.push({ roots, ...o, at: now });
    if (this.down) {
      await new Promise((r) => setTimeout(r, this.downDelayMs));
      throw Object.assign(new Error('4 DEADLINE_EXCEEDED: deadline exceeded'), {
        details: 'deadline exceeded',
      });
    }
    if (o.joinToken ? this.failAttestations : this.failRenewals) {
      throw Object.assign(new Error('14 UNAVAILABLE: no connection'), { details: 'no connection' });
    }
    if (o.joinToken && this.singleUseTokens) {
      if (this.usedTokens.has(o.joinToken)) {
        throw Object.assign(new Error('16 UNAUTHENTICATED: join token already used'), {
          details: 'join token already used',
        });
      }
      this.usedTokens.add(o.joinToken);
    }
    const { publicKey } = parseCsr(csr, 16_384);
    const whole = Math.floor(now / 1000) * 1000;
    const leaf = makeLeaf(intermediate, ID, {
      publicKey,
      notBefore: new Date(whole - 60_000),
      notAfter: new Date(whole + LIFE_MS),
    });
    return { chain: [leaf, intermediate.der], roots: [root.der], spiffeId: ID };
  }

  watchBundle(
    _roots: readonly Buffer[],
    onBundle: (roots: Buffer[], sequence: number) => void,
    onEnd: (err: null) => void,
  ): () => void {
    const watch = { onBundle, onEnd, cancelled: false };
    this.watches.push(watch);
    return () => {
      watch.cancelled = true;
    };
  }
}

const config: CaSidecarConfig = {
  trustDomain: 'example.org',
  identity: undefined,
  trustFile: undefined,
  keyType: 'ecdsa-p256',
  ca: {
    address: '127.0.0.1:8443',
    bundleFile: './bundle.pem',
    rootFingerprint: undefined,
    joinTokenFile: tokenFile,
    kubernetesTokenFile: undefined,
    ttlSeconds: LIFE_MS / 1000,
    timeoutMs: 10_000,
  },
  admin: '127.0.0.1:15000',
  files: undefined,
  inbound: [],
  outbound: [],
  shutdownGraceMs: 10_000,
  logLevel: 'trace',
};

let clock: ManualClock;
let ca: FakeCa;
let lines: string[];
let metrics: SidecarMetrics;
let source: IdentitySource;
let states: IdentityState[];

/** Moves the injected clock and the fake timers together, in small steps, clock first (0 just flushes). */
async function advance(ms: number): Promise<void> {
  const end = clock.now() + ms;
  do {
    const step = Math.min(STEP_MS, end - clock.now());
    clock.advance(step);
    await vi.advanceTimersByTimeAsync(step);
  } while (clock.now() < end);
}

async function renewals(result: string): Promise<number> {
  const { values } = await metrics.renewals.get();
  return values.find((v) => v.labels['result'] === result)?.value ?? 0;
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  clock = new ManualClock(T0);
  ca = new FakeCa(clock);
  lines = [];
  metrics = new SidecarMetrics();
  writeFileSync(tokenFile, `${TOKEN}\n`);
  source = new IdentitySource({
    config,
    ca: ca as unknown as CaConnection,
    log: createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } }),
    clock,
    metrics,
    random: () => 0.5,
  });
  states = [];
  source.subscribe((s) => states.push(s));
});

afterEach(() => {
  source.stop();
  vi.useRealTimers();
});

describe('IdentitySource start', () => {
  it('tells a new subscriber the empty state at once', () => {
    expect(states).toEqual([{ svid: null, bundle: null }]);
    expect(source.isReady()).toBe(false);
  });

  it('obtains a certificate with the join token from the file and publishes it', async () => {
    await source.start();
    expect(ca.calls).toHaveLength(1);
    expect(ca.calls[0]).toMatchObject({ joinToken: TOKEN, identity: null, ttlSeconds: 100 });
    expect(ca.calls[0]!.roots).toEqual([root.der]);

    const last = states.at(-1)!;
    expect(last.svid?.spiffeId).toBe(ID);
    expect(last.svid?.receivedAt).toBe(T0);
    expect(last.svid?.notAfter).toBe(T0 + LIFE_MS);
    expect(last.bundle?.roots).toEqual([root.der]);
    expect(last.bundle?.sequence).toBe(0);
    expect(source.state()).toEqual(last);
    expect(source.isReady()).toBe(true);
    expect(await renewals('attested')).toBe(1);
    expect((await metrics.certExpiry.get()).values[0]?.value).toBe((T0 + LIFE_MS) / 1000);
    expect(ca.watches).toHaveLength(1);
  });

  it('issues the certificate for the key it generated', async () => {
    await source.start();
    const svid = source.state().svid!;
    expect(svid.leaf.checkPrivateKey(svid.key)).toBe(true);
  });

  it('keeps retrying with backoff until a join token appears', async () => {
    unlinkSync(tokenFile);
    let started = false;
    void source.start().then(() => {
      started = true;
    });
    await advance(5000);
    expect(started).toBe(false);
    expect(ca.calls).toHaveLength(0);
    expect(lines.some((l) => l.includes('cannot read the join token file'))).toBe(true);

    writeFileSync(tokenFile, TOKEN);
    await advance(30_000);
    expect(started).toBe(true);
    expect(ca.calls).toHaveLength(1);
    expect(source.isReady()).toBe(true);
  });

  it('refuses a certificate outside its trust domain and keeps trying', async () => {
    const sign = ca.sign.bind(ca);
    let first = true;
    ca.sign = async (roots, csr, o) => {
      const res = await sign(roots, csr, o);
      if (!first) return res;
      first = false;
      const leaf = makeLeaf(intermediate, 'spiffe://other.org/web', {
        notBefore: new Date(T0 - 60_000),
        notAfter: new Date(T0 + LIFE_MS),
      });
      return { ...res, chain: [leaf, intermediate.der], spiffeId: 'spiffe://other.org/web' };
    };
    let started = false;
    void source.start().then(() => {
      started = true;
    });
    await advance(0);
    expect(source.state().svid).toBeNull();
    expect(lines.some((l) => l.includes('outside trust domain example.org'))).toBe(true);
    await advance(1000);
    expect(started).toBe(true);
    expect(source.state().svid?.spiffeId).toBe(ID);
  });
});

describe('IdentitySource renewal', () => {
  it('renews at half-life over mTLS, without the token, and publishes the new certificate', async () => {
    await source.start();
    const first = source.state().svid!;

    await advance(LIFE_MS / 2 - STEP_MS);
    expect(ca.calls).toHaveLength(1);

    await advance(STEP_MS);
    expect(ca.calls).toHaveLength(2);
    expect(ca.calls[1]).toMatchObject({ joinToken: null, at: T0 + LIFE_MS / 2 });
    expect(ca.calls[1]!.identity).toBe(first);

    const second = source.state().svid!;
    expect(second).not.toBe(first);
    expect(second.serial).not.toBe(first.serial);
    expect(second.receivedAt).toBe(T0 + LIFE_MS / 2);
    expect(states.at(-1)?.svid).toBe(second);
    expect(await renewals('renewed')).toBe(1);
    expect(lines.some((l) => l.includes('certificate renewed'))).toBe(true);
  });

  it('keeps renewing, once per half-life of each new certificate', async () => {
    await source.start();
    await advance(LIFE_MS * 2);
    // renewals at 50 s, 100 s, 150 s and 200 s after start
    expect(ca.calls.map((c) => c.at - T0)).toEqual([0, 50_000, 100_000, 150_000, 200_000]);
    expect(source.isReady()).toBe(true);
  });

  it('keeps the old certificate after a failed renewal, retries with backoff and publishes the next success', async () => {
    await source.start();
    const first = source.state().svid!;
    ca.failRenewals = true;
    await advance(LIFE_MS / 2);
    expect(ca.calls).toHaveLength(2);
    expect(source.state().svid).toBe(first);
    expect(source.isReady()).toBe(true);
    expect(states.every((s) => s.svid === null || s.svid === first)).toBe(true);
    expect(await renewals('failed')).toBe(1);
    expect(lines.some((l) => l.includes('renewal failed; keeping the current certificate'))).toBe(true);

    // backoff: 500 ms, then 1 s, then 2 s (random 0.5 → no jitter)
    await advance(500);
    expect(ca.calls).toHaveLength(3);
    await advance(1000);
    expect(ca.calls).toHaveLength(4);
    await advance(1000);
    expect(ca.calls).toHaveLength(4);
    ca.failRenewals = false;
    await advance(1000);
    expect(ca.calls).toHaveLength(5);
    expect(ca.calls.slice(1).map((c) => c.at - T0)).toEqual([50_000, 50_500, 51_500, 53_500]);
    expect(ca.calls.slice(1).every((c) => c.joinToken === null && c.identity === first)).toBe(true);

    const renewed = source.state().svid!;
    expect(renewed).not.toBe(first);
    expect(renewed.receivedAt).toBe(T0 + 53_500);
    expect(states.at(-1)?.svid).toBe(renewed);
    expect(await renewals('failed')).toBe(3);
    expect(await renewals('renewed')).toBe(1);
  });

  it('resets the backoff after a successful renewal', async () => {
    await source.start();
    ca.failRenewals = true;
    await advance(LIFE_MS / 2 + 500 + 1000);
    ca.failRenewals = false;
    await advance(2000);
    const renewed = source.state().svid!;
    const halfLife = (renewed.notAfter - renewed.receivedAt) / 2;
    ca.failRenewals = true;
    const before = ca.calls.length;
    await advance(LIFE_MS / 2 + 500);
    expect(ca.calls.slice(before).map((c) => c.at - renewed.receivedAt)).toEqual([halfLife, halfLife + 500]);
  });

  it('withdraws an expired certificate, turns not ready, and re-attests with the token file', async () => {
    await source.start();
    const first = source.state().svid!;
    ca.failRenewals = true;
    unlinkSync(tokenFile);

    await advance(LIFE_MS - STEP_MS);
    expect(source.state().svid).toBe(first);
    expect(source.isReady()).toBe(true);

    await advance(STEP_MS);
    expect(source.state().svid).toBeNull();
    expect(source.isReady()).toBe(false);
    const withdrawn = states.findIndex((s) => s.svid === null && s.bundle !== null);
    expect(withdrawn).toBeGreaterThan(0);
    expect(states[withdrawn]!.bundle?.roots).toEqual([root.der]);
    expect(lines.some((l) => l.includes('certificate expired before it could be renewed'))).toBe(true);
    expect(lines.some((l) => l.includes('re-attestation failed; retrying'))).toBe(true);

    const renewalsBefore = ca.calls.length;
    writeFileSync(tokenFile, TOKEN);
    await advance(30_000);
    expect(source.isReady()).toBe(true);
    const restored = source.state().svid!;
    expect(restored).not.toBe(first);
    expect(restored.spiffeId).toBe(ID);
    expect(states.at(-1)?.svid).toBe(restored);
    const attestations = ca.calls.slice(renewalsBefore).filter((c) => c.joinToken !== null);
    expect(attestations).toHaveLength(1);
    expect(attestations[0]).toMatchObject({ joinToken: TOKEN, identity: null });
    expect(await renewals('attested')).toBe(2);
  });

  // The CA is unreachable from 1 s after start (each call hangs for the 10 s deadline), so the
  // renewal tried at ~95 s is still in flight when the certificate expires at 100 s, and the
  // re-attestation started at expiry hangs too. The CA comes back `downAfterExpiryMs` after expiry
  // and the operator writes a fresh single-use join token.
  for (const downAfterExpiryMs of [40_000, 2000]) {
    it(`re-attests exactly once and then only renews, when the CA returns ${downAfterExpiryMs / 1000} s after expiry`, async () => {
      ca.singleUseTokens = true;
      await source.start();
      await advance(1000);
      ca.down = true;
      await advance(LIFE_MS - 1000 + downAfterExpiryMs);
      expect(source.isReady()).toBe(false);

      writeFileSync(tokenFile, 'tjt_fresh-token-for-reattestation');
      ca.down = false;
      const recovered = clock.now();
      await advance(60_000);
      expect(source.isReady()).toBe(true);

      // Once re-attested the token is spent: every later call must be an mTLS renewal.
      await advance(10 * 60_000);
      const tokenCalls = ca.calls.filter((c) => c.joinToken !== null && c.at >= recovered);
      expect(tokenCalls.map((c) => c.joinToken)).toEqual(['tjt_fresh-token-for-reattestation']);
      const failedAfterRecovery = lines
        .map((l) => JSON.parse(l) as { time: string; msg: string; err?: string })
        .filter((l) => Date.parse(l.time) >= recovered + 10_000 && l.msg.includes('failed'))
        .map((l) => `${l.msg}: ${l.err}`);
      expect(failedAfterRecovery).toEqual([]);
    });
  }

  it('never publishes an expired certificate while renewals keep failing', async () => {
    await source.start();
    ca.failRenewals = true;
    ca.failAttestations = true;
    await advance(LIFE_MS * 2);
    expect(source.isReady()).toBe(false);
    for (const s of states) if (s.svid) expect(s.svid.notAfter).toBeGreaterThan(T0);
    expect(source.state().svid).toBeNull();
  });

  it('stops renewing once stopped', async () => {
    await source.start();
    source.stop();
    await advance(LIFE_MS * 2);
    expect(ca.calls).toHaveLength(1);
    expect(ca.watches[0]?.cancelled).toBe(true);
  });
});

describe('IdentitySource bundle', () => {
  it('publishes a bundle pushed with a higher sequence', async () => {
    await source.start();
    const svid = source.state().svid!;
    const published = states.length;

    ca.watches[0]!.onBundle([root.der, nextRoot.der], 5);
    expect(states).toHaveLength(published + 1);
    const bundle = states.at(-1)!.bundle!;
    expect(bundle.sequence).toBe(5);
    expect(bundle.roots).toEqual([root.der, nextRoot.der]);
    expect(states.at(-1)!.svid).toBe(svid);
    expect((await metrics.bundleSequence.get()).values[0]?.value).toBe(5);
    expect(lines.some((l) => l.includes('trust bundle updated'))).toBe(true);
  });

  it('does not republish the same bundle at the same sequence', async () => {
    await source.start();
    ca.watches[0]!.onBundle([root.der, nextRoot.der], 5);
    const published = states.length;
    ca.watches[0]!.onBundle([root.der, nextRoot.der], 5);
    expect(states).toHaveLength(published);
  });

  it('trusts the pushed roots for the next renewal and keeps the streamed bundle', async () => {
    await source.start();
    ca.watches[0]!.onBundle([root.der, nextRoot.der], 5);
    await advance(LIFE_MS / 2);
    expect(ca.calls[1]!.roots).toEqual([root.der, nextRoot.der]);
    expect(source.state().bundle?.sequence).toBe(5);
    expect(source.state().bundle?.roots).toEqual([root.der, nextRoot.der]);
  });

  it('reconnects the bundle stream with backoff when it ends', async () => {
    await source.start();
    ca.watches[0]!.onEnd(null);
    await advance(400);
    expect(ca.watches).toHaveLength(1);
    await advance(100);
    expect(ca.watches).toHaveLength(2);
    expect(lines.some((l) => l.includes('bundle stream ended; reconnecting'))).toBe(true);
  });
});

describe('IdentitySource logging', () => {
  it('never writes the private key or the join token to a log line', async () => {
    const keys = new Set<string>();
    source.subscribe((s) => {
      if (s.svid) keys.add(s.svid.keyPem);
    });
    await source.start();
    ca.failRenewals = true;
    await advance(LIFE_MS / 2 + 2000);
    ca.failRenewals = false;
    await advance(2000);
    ca.failRenewals = true;
    await advance(LIFE_MS);
    await advance(30_000);

    expect(keys.size).toBeGreaterThanOrEqual(3);
    expect(lines.length).toBeGreaterThan(5);
    const log = lines.join('');
    for (const pem of keys) {
      const body = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
      expect(log).not.toContain(body);
      for (const chunk of pem.split('\n').filter((l) => l.length >= 32 && !l.startsWith('-----'))) {
        expect(log).not.toContain(chunk);
      }
    }
    expect(log).not.toContain('PRIVATE KEY');
    expect(log).not.toContain(TOKEN);
  });
});
