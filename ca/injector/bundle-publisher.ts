// Publishes the trust bundle to a `tether-trust-bundle` ConfigMap in every namespace labelled
// tether.io/inject=enabled, so injected sidecars can mount it, and as the caBundle of the injection
// webhook's configuration. Runs when the bundle changes and periodically (new namespaces, edited
// objects); writes only what differs.
import type { Logger } from '../../common/logging.js';
import type { KubernetesApi } from '../attestation/kubernetes-api.js';
import { BUNDLE_CONFIGMAP, BUNDLE_KEY } from './pod-layout.js';

export const ENABLED_NAMESPACE_SELECTOR = 'tether.io/inject=enabled';
export const BUNDLE_LABELS = {
  'app.kubernetes.io/managed-by': 'tether-ca',
  'app.kubernetes.io/part-of': 'tether',
};

export interface PublishedBundle {
  readonly pem: string;
  readonly sequence: number;
}

export interface SyncResult {
  readonly written: string[];
  readonly unchanged: string[];
  readonly failed: string[];
  /** What happened to the webhook configuration's caBundle (null: not managed). */
  webhook: 'written' | 'unchanged' | 'missing' | 'failed' | null;
}

export interface BundlePublisherOptions {
  readonly api: () => Promise<KubernetesApi>;
  readonly bundle: () => PublishedBundle;
  readonly log: Logger;
  /** MutatingWebhookConfiguration whose caBundle is kept equal to the bundle, if any. */
  readonly webhookConfiguration?: string | null;
}

/** The ConfigMap data for a bundle. */
export function bundleData(b: PublishedBundle): Record<string, string> {
  return { [BUNDLE_KEY]: b.pem, sequence: String(b.sequence) };
}

function sameData(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(b);
  return Object.keys(a).length === keys.length && keys.every((k) => a[k] === b[k]);
}

export class BundlePublisher {
  private running: Promise<SyncResult> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: BundlePublisherOptions) {}

  /** Syncs now; a call during a sync runs one more sync after it (coalesced). */
  sync(): Promise<SyncResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.syncOnce().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.sync(); // sets this.running again before idle() looks
      }
    });
    return this.running;
  }

  /** Resolves once no sync is running or queued. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Syncs every `intervalMs` (and right away). */
  start(intervalMs: number): void {
    void this.sync();
    this.timer = setInterval(() => void this.sync(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async syncOnce(): Promise<SyncResult> {
    const result: SyncResult = { written: [], unchanged: [], failed: [], webhook: null };
    const bundle = this.o.bundle();
    const desired = bundleData(bundle);
    let namespaces: string[];
    let api: KubernetesApi;
    try {
      api = await this.o.api();
      namespaces = await api.listNamespaces(ENABLED_NAMESPACE_SELECTOR);
    } catch (err) {
      this.o.log.error(
        { err: (err as Error).message },
        'cannot list enabled namespaces to publish the trust bundle',
      );
      return result;
    }
    if (this.o.webhookConfiguration)
      result.webhook = await this.syncWebhook(api, this.o.webhookConfiguration, bundle);
    for (const namespace of namespaces) {
      try {
        const current = await api.readConfigMap(namespace, BUNDLE_CONFIGMAP);
        if (current && sameData(current.data, desired)) {
          result.unchanged.push(namespace);
          continue;
        }
        await api.writeConfigMap(
          namespace,
          BUNDLE_CONFIGMAP,
          desired,
          BUNDLE_LABELS,
          current?.resourceVersion,
        );
        result.written.push(namespace);
      } catch (err) {
        result.failed.push(namespace);
        this.o.log.error(
          { namespace, err: (err as Error).message },
          'cannot publish the trust bundle ConfigMap (does the CA have a RoleBinding in this namespace?)',
        );
      }
    }
    if (result.written.length > 0)
      this.o.log.info(
        { sequence: bundle.sequence, namespaces: result.written },
        'trust bundle ConfigMap published',
      );
    return result;
  }

  /** Keeps every webhook's caBundle equal to the mesh roots (the injector's certificate chains to them). */
  private async syncWebhook(
    api: KubernetesApi,
    name: string,
    bundle: PublishedBundle,
  ): Promise<SyncResult['webhook']> {
    const caBundle = Buffer.from(bundle.pem).toString('base64');
    try {
      const current = await api.readWebhookCaBundles(name);
      if (current === null) {
        this.o.log.warn({ webhookConfiguration: name }, 'the injection webhook configuration does not exist');
        return 'missing';
      }
      if (current.every((c) => c === caBundle)) return 'unchanged';
      await api.writeWebhookCaBundles(name, caBundle);
      this.o.log.info({ webhookConfiguration: name, sequence: bundle.sequence }, 'webhook caBundle updated');
      return 'written';
    } catch (err) {
      this.o.log.error(
        { webhookConfiguration: name, err: (err as Error).message },
        'cannot update the webhook caBundle',
      );
      return 'failed';
    }
  }
}
