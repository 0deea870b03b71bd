// The CA's signing authority: which intermediate signs now, which roots form the trust bundle,
// and carrying out rotation steps. Shared by `ca serve` (which also watches the store for
// changes made by the CLI) and the CLI commands that rotate.
import { type KeyObject, X509Certificate } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import type { SigningKey } from '../issuer/signing-key.js';
import { signingKeyFor } from '../issuer/signing-key.js';
import type { IssuerInfo } from '../issuer/template.js';
import type { CaGeneration, CaMeta, GenerationChange, Store } from '../store/store.js';
import { createIntermediate, createRoot, issuerInfoOf, type KeyStorage } from './generation.js';
import type { CaKeyType } from './keys.js';
import { readKeyFile } from './keys.js';
import { planRotation, type RotationPolicy, type RotationStep } from './rotation.js';

/** The intermediate that signs leaves now, with the chain that goes out with each leaf. */
export interface SigningCa {
  readonly generation: CaGeneration;
  readonly signer: SigningKey;
  readonly issuer: IssuerInfo;
  /** DER certificates to send after the leaf: the intermediate, then any upstream chain. */
  readonly chain: readonly Buffer[];
  /** The trust-bundle root this chain ends at (lets clients pin a root by fingerprint). */
  readonly root: Buffer | null;
}

export interface TrustBundle {
  readonly roots: readonly Buffer[];
  readonly sequence: number;
}

export interface AuthorityChange {
  readonly bundleChanged: boolean;
  readonly signingChanged: boolean;
}

export interface AuthorityOptions {
  readonly store: Store;
  readonly storage: KeyStorage;
  readonly clock: Clock;
  readonly log: Logger;
  readonly policy: RotationPolicy;
}

const inBundle = (g: CaGeneration) => g.kind === 'root' && g.state !== 'retired';

export class Authority {
  private meta!: CaMeta;
  private gens: CaGeneration[] = [];
  private bundleState: TrustBundle = { roots: [], sequence: 0 };
  private signing: SigningCa | null = null;
  private readonly keys = new Map<string, KeyObject>();
  private readonly certs = new Map<string, X509Certificate>();
  private readonly listeners = new Set<(change: AuthorityChange) => void>();
  private readonly storeListeners = new Set<() => Promise<void>>();
  private lastChangeCounter = -1;

  private constructor(private readonly opts: AuthorityOptions) {}

  /** Loads the CA from its store; throws ERR_CA_NOT_INITIALIZED when there is none. */
  static async open(opts: AuthorityOptions): Promise<Authority> {
    const authority = new Authority(opts);
    const meta = await opts.store.meta();
    if (!meta)
      throw new TetherError('ERR_CA_NOT_INITIALIZED', 'the data dir holds no CA; run "tether ca init" first');
    authority.meta = meta;
    await authority.reload();
    return authority;
  }

  get trustDomain(): string {
    return this.meta.trustDomain;
  }

  get isUpstream(): boolean {
    return this.gens.some((g) => g.kind === 'upstream');
  }

  generations(): readonly CaGeneration[] {
    return this.gens;
  }

  /** The signing CA; ERR_CA_NOT_READY if no intermediate is active. */
  signingCa(): SigningCa {
    if (!this.signing)
      throw new TetherError('ERR_CA_NOT_READY', 'the CA has no active signing certificate yet');
    return this.signing;
  }

  bundle(): TrustBundle {
    return this.bundleState;
  }

  /** Subscribes to bundle and signing-CA changes; returns the unsubscribe function. */
  onChange(listener: (change: AuthorityChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Parsed certificate of a generation (cached). */
  certificateOf(g: CaGeneration): X509Certificate {
    let cert = this.certs.get(g.id);
    if (!cert) {
      cert = new X509Certificate(g.certDer);
      this.certs.set(g.id, cert);
    }
    return cert;
  }

  /**
   * The intermediate (of any state) that signed `leaf`, if it chains to an anchor that is still
   * trusted. Signature-checked, not just name-matched.
   */
  findIssuerOf(leaf: X509Certificate): CaGeneration | null {
    const trusted = new Set(this.gens.filter((g) => inBundle(g) || g.kind === 'upstream').map((g) => g.id));
    for (const g of this.gens) {
      if (g.kind !== 'intermediate' || !g.parentId || !trusted.has(g.parentId)) continue;
      const cert = this.certificateOf(g);
      if (leaf.checkIssued(cert) && leaf.verify(cert.publicKey)) return g;
    }
    return null;
  }

  /** Re-reads generations and the bundle from the store; notifies listeners of what changed. */
  async reload(): Promise<AuthorityChange> {
    this.lastChangeCounter = await this.opts.store.changeCounter();
    this.gens = await this.opts.store.generations();
    const sequence = (await this.opts.store.bundleState()).sequence;
    const bundleChanged = sequence !== this.bundleState.sequence;
    if (bundleChanged) this.bundleState = { roots: this.computeRoots(), sequence };
    const active = this.gens.find((g) => g.kind === 'intermediate' && g.state === 'active') ?? null;
    const signingChanged = active?.id !== this.signing?.generation.id;
    if (signingChanged) this.signing = active ? this.buildSigning(active) : null;
    const change = { bundleChanged, signingChanged };
    if (bundleChanged || signingChanged) for (const l of this.listeners) l(change);
    return change;
  }

  /**
   * Subscribes to "another process committed to the store" (seen by refreshIfChanged), so state
   * kept beside the authority (the token signing keys) reloads too. Returns the unsubscribe function.
   */
  onStoreChange(listener: () => Promise<void>): () => void {
    this.storeListeners.add(listener);
    return () => this.storeListeners.delete(listener);
  }

  /** Reloads only if another process (the CLI) committed since the last look. */
  async refreshIfChanged(): Promise<void> {
    if ((await this.opts.store.changeCounter()) === this.lastChangeCounter) return;
    await this.reload();
    for (const l of this.storeListeners) await l();
  }

  private computeRoots(): Buffer[] {
    if (this.isUpstream) return [...this.meta.upstreamBundle];
    return this.gens.filter(inBundle).map((g) => g.certDer);
  }

  private buildSigning(g: CaGeneration): SigningCa {
    const anchor = this.gens.find((a) => a.id === g.parentId);
    const upstream = anchor?.kind === 'upstream' ? [anchor.certDer, ...this.meta.upstreamChain] : [];
    const chain = [g.certDer, ...upstream];
    return {
      generation: g,
      signer: signingKeyFor(this.keyOf(g)),
      issuer: issuerInfoOf(g.certDer),
      chain,
      root: anchor?.kind === 'root' ? anchor.certDer : this.upstreamRootOf(chain.at(-1)!),
    };
  }

  private upstreamRootOf(top: Buffer): Buffer | null {
    const cert = new X509Certificate(top);
    const root = this.meta.upstreamBundle.find((r) => {
      const x = new X509Certificate(r);
      return r.equals(top) || (cert.checkIssued(x) && cert.verify(x.publicKey));
    });
    return root && !root.equals(top) ? root : null;
  }

  private keyOf(g: CaGeneration): KeyObject {
    let key = this.keys.get(g.id);
    if (!key) {
      key = readKeyFile(this.opts.storage.keysDir, g.keyFile, this.opts.storage.passphrase);
      this.keys.set(g.id, key);
    }
    return key;
  }

  private byId(id: string): CaGeneration {
    const g = this.gens.find((x) => x.id === id);
    if (!g) throw new TetherError('ERR_INTERNAL', `unknown CA generation ${id}`);
    return g;
  }

  /** Runs the rotation schedule once; returns the steps it applied. */
  async rotate(): Promise<RotationStep[]> {
    const now = this.opts.clock.now();
    const expiry = new Map<string, number | null>();
    for (const root of this.gens.filter((g) => g.kind === 'root' && g.state === 'retiring')) {
      const children = this.gens.filter((g) => g.parentId === root.id).map((g) => g.id);
      expiry.set(root.id, await this.opts.store.latestLeafExpiry(children));
    }
    const steps = planRotation(now, this.gens, this.opts.policy, expiry);
    for (const step of steps) await this.apply(step);
    return steps;
  }

  /** `tether ca rotate --intermediate`: a new intermediate under the current anchor signs from now on. */
  async forceIntermediateRotation(): Promise<CaGeneration> {
    const anchor = this.gens.find(
      (g) => (g.kind === 'root' || g.kind === 'upstream') && g.state === 'active',
    );
    if (!anchor) throw new TetherError('ERR_CA_NOT_READY', 'no active root');
    const current = this.gens.find((g) => g.kind === 'intermediate' && g.state === 'active');
    await this.apply({ kind: 'replace-intermediate', parentId: anchor.id, retireId: current?.id ?? null });
    return this.signingCa().generation;
  }

  /** `tether ca rotate --root`: publishes a new root; signing moves under it after propagation. */
  async startRootRotation(): Promise<CaGeneration> {
    if (this.isUpstream) {
      throw new TetherError(
        'ERR_ROTATION_REFUSED',
        'this CA signs under an upstream CA: rotate the upstream CA instead',
      );
    }
    if (this.gens.some((g) => g.kind === 'root' && g.state === 'prepared')) {
      throw new TetherError('ERR_ROTATION_REFUSED', 'a root rotation is already in progress');
    }
    await this.apply({ kind: 'prepare-root' });
    return this.gens.find((g) => g.kind === 'root' && g.state === 'prepared')!;
  }

  private async apply(step: RotationStep): Promise<void> {
    const change = this.changeFor(step);
    await this.opts.store.applyGenerationChanges(change);
    this.opts.log.info(
      { step: step.kind, generations: change.insert?.map((g) => g.id) },
      'CA rotation step applied',
    );
    await this.reload();
  }

  private changeFor(step: RotationStep): GenerationChange {
    const now = this.opts.clock.now();
    switch (step.kind) {
      case 'prepare-intermediate':
        return { insert: [this.newIntermediate(step.parentId, 'prepared')] };
      case 'replace-intermediate': {
        // A successor prepared for the replaced intermediate is dropped too: it would otherwise
        // take over later than planned from an older, shorter-lived key.
        const retire = this.gens.filter(
          (g) => g.id === step.retireId || (g.kind === 'intermediate' && g.state === 'prepared'),
        );
        return {
          insert: [this.newIntermediate(step.parentId, 'active')],
          setState: retire.map((g) => ({ id: g.id, state: 'retired' as const, at: now })),
        };
      }
      case 'activate-intermediate':
        return {
          setState: [
            ...(step.retireId ? [{ id: step.retireId, state: 'retired' as const, at: now }] : []),
            { id: step.id, state: 'active', at: now },
          ],
        };
      case 'prepare-root':
        return { insert: [this.newRoot()], bumpBundle: true };
      case 'switch-root':
        return this.switchRoot(step.id, step.retiringId, now);
      case 'remove-root':
        return {
          setState: [
            { id: step.id, state: 'retired', at: now },
            ...this.liveChildren(step.id).map((g) => ({ id: g.id, state: 'retired' as const, at: now })),
          ],
          bumpBundle: true,
        };
    }
  }

  private switchRoot(id: string, retiringId: string | null, now: number): GenerationChange {
    const retire = retiringId ? this.liveChildren(retiringId) : [];
    return {
      insert: [this.newIntermediate(id, 'active')],
      setState: [
        ...retire.map((g) => ({ id: g.id, state: 'retired' as const, at: now })),
        ...(retiringId ? [{ id: retiringId, state: 'retiring' as const, at: now }] : []),
        { id, state: 'active', at: now },
      ],
    };
  }

  private liveChildren(parentId: string): CaGeneration[] {
    return this.gens.filter((g) => g.parentId === parentId && g.state !== 'retired');
  }

  private newIntermediate(parentId: string, state: 'prepared' | 'active'): CaGeneration {
    const parent = this.byId(parentId);
    const created = createIntermediate({
      now: this.opts.clock.now(),
      trustDomain: this.meta.trustDomain,
      keyType: this.meta.keyType as CaKeyType,
      ttlSeconds: this.opts.policy.intermediateTtlSeconds,
      state,
      parent,
      parentKey: this.keyOf(parent),
      storage: this.opts.storage,
    });
    this.keys.set(created.generation.id, created.key);
    return created.generation;
  }

  private newRoot(): CaGeneration {
    const created = createRoot({
      now: this.opts.clock.now(),
      trustDomain: this.meta.trustDomain,
      keyType: this.meta.keyType as CaKeyType,
      ttlSeconds: this.opts.policy.rootTtlSeconds,
      state: 'prepared',
      storage: this.opts.storage,
    });
    this.keys.set(created.generation.id, created.key);
    return created.generation;
  }
}
