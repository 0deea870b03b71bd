// An in-process stand-in for the few Kubernetes API endpoints Tether calls, served over real
// HTTPS with bearer-token auth, so @kubernetes/client-node talks to it exactly as to an API
// server: namespace list with label selector, ConfigMap get/create/replace (with resourceVersion
// conflicts and per-namespace 403s, as RBAC would answer), MutatingWebhookConfiguration get/replace
// and TokenReview.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { selfSignedCert } from './k8s-issuer.js';

// biome-ignore lint/suspicious/noExplicitAny: API objects are free-form JSON
type Json = Record<string, any>;

export interface TokenReviewAnswer {
  authenticated: boolean;
  user?: { username: string; extra?: Record<string, string[]> };
  audiences?: string[];
  error?: string;
}

export interface FakeKubeApi {
  readonly url: string;
  /** A kubeconfig file pointing at this server (for KUBECONFIG). */
  readonly kubeconfig: string;
  readonly namespaces: Map<string, Record<string, string>>;
  readonly configMaps: Map<string, Json>;
  readonly webhookConfigurations: Map<string, Json>;
  /** Namespaces where ConfigMap writes answer 403 (no RoleBinding there). */
  readonly forbidden: Set<string>;
  /** Decides TokenReviews; default: not authenticated. */
  reviewToken: (token: string, audiences: string[]) => TokenReviewAnswer;
  readonly requests: { method: string; path: string }[];
  close(): Promise<void>;
}

const BEARER = 'fake-kube-api-token';

function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function matches(labels: Record<string, string>, selector: string | null): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return labels[k!] === v;
  });
}

export async function startFakeKubeApi(dir: string): Promise<FakeKubeApi> {
  const tlsFiles = selfSignedCert(dir, 'fake-kube-api');
  let version = 100;
  const api: Omit<FakeKubeApi, 'url' | 'kubeconfig' | 'close'> = {
    namespaces: new Map(),
    configMaps: new Map(),
    webhookConfigurations: new Map(),
    forbidden: new Set(),
    reviewToken: () => ({ authenticated: false, error: 'token not recognised' }),
    requests: [],
  };
  const webhookConfiguration = (method: string, name: string, body: Json | null): [number, Json] => {
    const existing = api.webhookConfigurations.get(name);
    if (!existing) return [404, status(404, 'NotFound', `mutatingwebhookconfigurations "${name}" not found`)];
    if (method === 'GET') return [200, existing];
    if (method !== 'PUT') return [405, status(405, 'MethodNotAllowed', method)];
    if (existing['metadata'].resourceVersion !== body?.['metadata']?.resourceVersion)
      return [409, status(409, 'Conflict', 'the object has been modified')];
    const stored = { ...body, metadata: { ...body?.['metadata'], resourceVersion: String(++version) } };
    api.webhookConfigurations.set(name, stored);
    return [200, stored];
  };
  const route = (method: string, url: URL, body: Json | null): [number, Json] => {
    const p = url.pathname;
    if (method === 'GET' && p === '/api/v1/namespaces') {
      const items = [...api.namespaces]
        .filter(([, labels]) => matches(labels, url.searchParams.get('labelSelector')))
        .map(([name, labels]) => ({ metadata: { name, labels } }));
      return [200, { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items }];
    }
    if (method === 'POST' && p === '/apis/authentication.k8s.io/v1/tokenreviews') {
      const spec = body?.['spec'] ?? {};
      return [201, { ...body, status: api.reviewToken(spec.token, spec.audiences ?? []) }];
    }
    const hook = /^\/apis\/admissionregistration\.k8s\.io\/v1\/mutatingwebhookconfigurations\/([^/]+)$/.exec(
      p,
    );
    if (hook) return webhookConfiguration(method, hook[1]!, body);
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps(?:\/([^/]+))?$/.exec(p);
    if (!m) return [404, status(404, 'NotFound', `no route ${p}`)];
    const [, ns, name] = m as unknown as [string, string, string | undefined];
    const key = `${ns}/${name ?? body?.['metadata']?.name}`;
    if (method !== 'GET' && api.forbidden.has(ns))
      return [403, status(403, 'Forbidden', `configmaps is forbidden in namespace ${ns}`)];
    const existing = api.configMaps.get(key);
    if (method === 'GET')
      return existing ? [200, existing] : [404, status(404, 'NotFound', `configmaps "${name}" not found`)];
    if (method === 'POST' && existing) return [409, status(409, 'AlreadyExists', 'already exists')];
    if (
      method === 'PUT' &&
      (!existing || existing['metadata'].resourceVersion !== body?.['metadata']?.resourceVersion)
    )
      return [409, status(409, 'Conflict', 'the object has been modified')];
    const stored = {
      ...body,
      metadata: { ...body?.['metadata'], namespace: ns, resourceVersion: String(++version) },
    };
    api.configMaps.set(key, stored);
    return [method === 'POST' ? 201 : 200, stored];
  };
  const server: Server = createServer(
    { cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) },
    (req, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://fake');
        api.requests.push({ method: req.method ?? '', path: url.pathname });
        const [code, body] =
          req.headers.authorization !== `Bearer ${BEARER}`
            ? [401, status(401, 'Unauthorized', 'Unauthorized')]
            : route(req.method ?? 'GET', url, text ? (JSON.parse(text) as Json) : null);
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'fake',
          cluster: {
            server: url,
            'certificate-authority-data': readFileSync(tlsFiles.cert).toString('base64'),
          },
        },
      ],
      users: [{ name: 'tether-ca', user: { token: BEARER } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'tether-ca' } }],
      'current-context': 'fake',
    }),
  );
  return {
    ...api,
    get reviewToken() {
      return api.reviewToken;
    },
    set reviewToken(f) {
      api.reviewToken = f;
    },
    url,
    kubeconfig,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
