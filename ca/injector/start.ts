// Starts the Kubernetes side of `tether ca serve`: the injection webhook (when
// kubernetes.injector.listen is set) and the trust-bundle ConfigMap publisher (when
// kubernetes.publishBundle is set), re-publishing whenever the bundle changes.
import type { Logger } from '../../common/logging.js';
import { certsToPem } from '../../common/pem.js';
import type { KubernetesApi } from '../attestation/kubernetes-api.js';
import type { Authority } from '../authority/authority.js';
import type { ServingIdentity } from '../authority/serving-identity.js';
import type { KubernetesConfig } from '../config/load.js';
import { BundlePublisher } from './bundle-publisher.js';
import { InjectorServer } from './server.js';

/** How often the publisher looks for newly enabled namespaces and drifted ConfigMaps. */
const RESYNC_INTERVAL_MS = 60_000;

export interface RunningKubernetes {
  readonly injectorPort: number | null;
  close(): Promise<void>;
}

export async function startKubernetes(
  k: KubernetesConfig,
  d: { log: Logger; authority: Authority; serving: ServingIdentity; api: () => Promise<KubernetesApi> },
): Promise<RunningKubernetes> {
  let injector: InjectorServer | null = null;
  let injectorPort: number | null = null;
  if (k.injector.listen) {
    injector = new InjectorServer({
      log: d.log.child({ module: 'injector' }),
      serving: d.serving,
      settings: {
        trustDomain: d.authority.trustDomain,
        caAddress: k.injector.caAddress,
        image: k.injector.image,
        audience: k.audience,
        nativeSidecar: k.injector.nativeSidecar,
      },
    });
    injectorPort = await injector.listen(k.injector.listen);
  }
  let publisher: BundlePublisher | null = null;
  if (k.publishBundle) {
    const bundle = () => ({
      pem: certsToPem(d.authority.bundle().roots),
      sequence: d.authority.bundle().sequence,
    });
    publisher = new BundlePublisher({
      api: d.api,
      bundle,
      log: d.log.child({ module: 'bundle-publisher' }),
      webhookConfiguration: k.injector.listen ? k.injector.webhookConfiguration : null,
    });
    d.authority.onChange((c) => {
      if (c.bundleChanged) void publisher?.sync();
    });
    publisher.start(RESYNC_INTERVAL_MS);
  }
  return {
    injectorPort,
    async close() {
      publisher?.stop();
      await injector?.close();
    },
  };
}
