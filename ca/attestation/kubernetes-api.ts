// The only module that talks to the Kubernetes API (through @kubernetes/client-node, imported
// lazily so a CA outside a cluster never loads it). Credentials come from KUBECONFIG when set,
// else the pod's service account (in-cluster config).

/** The answer of a TokenReview (authentication.k8s.io/v1). */
export interface TokenReviewResult {
  readonly authenticated: boolean;
  readonly username: string;
  readonly audiences: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
  readonly error: string | undefined;
}

export interface ConfigMapData {
  readonly data: Readonly<Record<string, string>>;
  readonly resourceVersion: string | undefined;
}

/** The slice of the Kubernetes API Tether uses. */
export interface KubernetesApi {
  tokenReview(token: string, audiences: readonly string[]): Promise<TokenReviewResult>;
  /** Names of namespaces matching a label selector. */
  listNamespaces(labelSelector: string): Promise<string[]>;
  readConfigMap(namespace: string, name: string): Promise<ConfigMapData | null>;
  /** Creates or replaces (optimistically, with `resourceVersion`) a ConfigMap. */
  writeConfigMap(
    namespace: string,
    name: string,
    data: Record<string, string>,
    labels: Record<string, string>,
    resourceVersion: string | undefined,
  ): Promise<void>;
  /** The caBundle (base64 PEM) of each webhook of a MutatingWebhookConfiguration, or null if absent. */
  readWebhookCaBundles(name: string): Promise<(string | undefined)[] | null>;
  /** Sets every webhook's caBundle (read-modify-replace, so a concurrent edit conflicts). */
  writeWebhookCaBundles(name: string, caBundle: string): Promise<void>;
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Connects with the default loading rules (KUBECONFIG, then in-cluster). */
export async function connectKubernetes(): Promise<KubernetesApi> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const auth = kc.makeApiClient(k8s.AuthenticationV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  return {
    async tokenReview(token, audiences) {
      const review = await auth.createTokenReview({
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, audiences: [...audiences] },
        },
      });
      const s = review.status ?? {};
      return {
        authenticated: s.authenticated === true,
        username: s.user?.username ?? '',
        audiences: s.audiences ?? [],
        extra: s.user?.extra ?? {},
        error: s.error,
      };
    },
    async listNamespaces(labelSelector) {
      const list = await core.listNamespace({ labelSelector });
      return list.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== '');
    },
    async readConfigMap(namespace, name) {
      try {
        const cm = await core.readNamespacedConfigMap({ namespace, name });
        return { data: cm.data ?? {}, resourceVersion: cm.metadata?.resourceVersion };
      } catch (err) {
        if (statusCode(err) === 404) return null;
        throw err;
      }
    },
    async writeConfigMap(namespace, name, data, labels, resourceVersion) {
      const body = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, namespace, labels, ...(resourceVersion ? { resourceVersion } : {}) },
        data,
      };
      if (resourceVersion === undefined) await core.createNamespacedConfigMap({ namespace, body });
      else await core.replaceNamespacedConfigMap({ namespace, name, body });
    },
    async readWebhookCaBundles(name) {
      try {
        const config = await admission.readMutatingWebhookConfiguration({ name });
        return (config.webhooks ?? []).map((w) => w.clientConfig.caBundle);
      } catch (err) {
        if (statusCode(err) === 404) return null;
        throw err;
      }
    },
    async writeWebhookCaBundles(name, caBundle) {
      const config = await admission.readMutatingWebhookConfiguration({ name });
      for (const w of config.webhooks ?? []) w.clientConfig.caBundle = caBundle;
      await admission.replaceMutatingWebhookConfiguration({ name, body: config });
    },
  };
}

/** Connects on first use and reuses the connection; a failed connect is retried next time. */
export function lazyKubernetesApi(): () => Promise<KubernetesApi> {
  let api: Promise<KubernetesApi> | null = null;
  return () => {
    api ??= connectKubernetes().catch((err: unknown) => {
      api = null;
      throw err;
    });
    return api;
  };
}
