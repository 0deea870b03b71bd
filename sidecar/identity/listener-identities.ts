// Builds each listener's identity provider from config: identity = the listener's files, else
// the sidecar's files, else the mesh CA; trust = the listener's bundle file, else the sidecar's,
// else the mesh bundle. Each file set is loaded and watched once, however many listeners use it.
import { readFileSync } from 'node:fs';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logging.js';
import { fromPem } from '../../common/pem.js';
import { type IdentityFiles, identityFileNames, loadIdentityFiles } from './load-identity-files.js';
import { composeIdentity, type IdentityProvider, type Part, partsOf } from './provider.js';
import { type Bundle, makeBundle, type Svid } from './svid.js';
import { WatchedFiles } from './watched-files.js';

export interface IdentityChoice {
  readonly identity: IdentityFiles | undefined;
  readonly trustFile: string | undefined;
}

export class ListenerIdentities {
  private readonly watched = new Map<string, WatchedFiles<Svid> | WatchedFiles<Bundle>>();
  private readonly providers = new Map<string, IdentityProvider>();

  constructor(
    private readonly o: {
      readonly ca: IdentityProvider | null;
      readonly defaults: IdentityChoice;
      readonly log: Logger;
      readonly clock: Clock;
    },
  ) {}

  /** True when `choice` (with the defaults) names both an identity and a trust. */
  canProvide(choice: IdentityChoice): boolean {
    const ca = this.o.ca !== null;
    return (
      Boolean(choice.identity ?? this.o.defaults.identity ?? ca) &&
      Boolean(choice.trustFile ?? this.o.defaults.trustFile ?? ca)
    );
  }

  /** The provider for a listener's choice (shared by listeners with the same choice). */
  for(choice: IdentityChoice): IdentityProvider {
    const identity = choice.identity ?? this.o.defaults.identity;
    const trustFile = choice.trustFile ?? this.o.defaults.trustFile;
    const key = JSON.stringify([identity ?? null, trustFile ?? null]);
    const existing = this.providers.get(key);
    if (existing) return existing;
    const ca = this.o.ca ? partsOf(this.o.ca) : null;
    const svid = identity ? this.svidPart(identity) : ca?.svid;
    const bundle = trustFile ? this.bundlePart(trustFile) : ca?.bundle;
    if (!svid || !bundle) throw new Error('listener has no identity or no trust (checked at config load)');
    const provider = composeIdentity(svid, bundle, () => this.o.clock.now());
    this.providers.set(key, provider);
    return provider;
  }

  stop(): void {
    for (const w of this.watched.values()) w.stop();
  }

  private svidPart(files: IdentityFiles): Part<Svid | null> {
    const w = this.watch(`identity:${JSON.stringify(files)}`, () => {
      const names = identityFileNames(files);
      return new WatchedFiles<Svid>({
        files: names,
        load: () => loadIdentityFiles(files, this.o.clock.now()),
        what: `identity ${names[0]}`,
        log: this.o.log,
      });
    }) as WatchedFiles<Svid>;
    return { get: () => w.current(), onChange: (l) => void w.onChange(() => l()) };
  }

  private bundlePart(file: string): Part<Bundle | null> {
    const w = this.watch(`trust:${file}`, () => {
      return new WatchedFiles<Bundle>({
        files: [file],
        load: () => makeBundle(fromPem(readFileSync(file, 'utf8')), 0),
        what: `trust ${file}`,
        log: this.o.log,
      });
    }) as WatchedFiles<Bundle>;
    return { get: () => w.current(), onChange: (l) => void w.onChange(() => l()) };
  }

  private watch(key: string, make: () => WatchedFiles<Svid> | WatchedFiles<Bundle>) {
    let w = this.watched.get(key);
    if (!w) {
      w = make();
      w.start();
      this.watched.set(key, w);
    }
    return w;
  }
}
