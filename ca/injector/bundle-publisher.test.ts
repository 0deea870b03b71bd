import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logging.js';
import { removeDir, tempDir } from '../../test/helpers/ca-process.js';
import { type FakeKubeApi, startFakeKubeApi } from '../../test/helpers/fake-kube-api.js';
import { connectKubernetes, type KubernetesApi } from '../attestation/kubernetes-api.js';
import { BundlePublisher, type PublishedBundle } from './bundle-publisher.js';

// The publisher against a fake API server over real HTTPS, reached through @kubernetes/client-node
// with a kubeconfig (KUBECONFIG), as the CA would reach a real one.
let dir: string;
let fake: FakeKubeApi;
let api: KubernetesApi;
let bundle: PublishedBundle;
const log = createLogger({ level: 'silent' });
const publisher = () => new BundlePublisher({ api: async () => api, bundle: () => bundle, log });
const writes = () => fake.requests.filter((r) => r.method === 'POST' || r.method === 'PUT');

beforeAll(async () => {
  dir = tempDir();
  fake = await startFakeKubeApi(dir);
  const saved = process.env['KUBECONFIG'];
  process.env['KUBECONFIG'] = fake.kubeconfig;
  try {
    api = await connectKubernetes();
  } finally {
    if (saved === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = saved;
  }
});

afterAll(async () => {
  await fake.close();
  removeDir(dir);
});

beforeEach(() => {
  fake.namespaces.clear();
  fake.configMaps.clear();
  fake.webhookConfigurations.clear();
  fake.forbidden.clear();
  fake.requests.length = 0;
  fake.namespaces.set('shop', { 'tether.io/inject': 'enabled' });
  fake.namespaces.set('billing', { 'tether.io/inject': 'enabled' });
  fake.namespaces.set('kube-system', {});
  bundle = { pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', sequence: 1 };
});

describe('BundlePublisher', () => {
  it('creates the tether-trust-bundle ConfigMap in every enabled namespace and nowhere else', async () => {
    const result = await publisher().sync();
    expect(result).toEqual({ written: ['shop', 'billing'], unchanged: [], failed: [], webhook: null });
    expect([...fake.configMaps.keys()].sort()).toEqual([
      'billing/tether-trust-bundle',
      'shop/tether-trust-bundle',
    ]);
    const cm = fake.configMaps.get('shop/tether-trust-bundle')!;
    expect(cm['data']).toEqual({ 'bundle.pem': bundle.pem, sequence: '1' });
    expect(cm['metadata'].labels['app.kubernetes.io/managed-by']).toBe('tether-ca');
  });

  it('writes nothing when the ConfigMaps already hold the bundle', async () => {
    await publisher().sync();
    fake.requests.length = 0;
    expect(await publisher().sync()).toEqual({
      written: [],
      unchanged: ['shop', 'billing'],
      failed: [],
      webhook: null,
    });
    expect(writes()).toEqual([]);
  });

  it('replaces the ConfigMaps (with their resourceVersion) when the bundle rotates', async () => {
    await publisher().sync();
    const before = fake.configMaps.get('shop/tether-trust-bundle')!['metadata'].resourceVersion;
    bundle = {
      pem: `${bundle.pem}-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n`,
      sequence: 2,
    };
    fake.requests.length = 0;
    expect((await publisher().sync()).written).toEqual(['shop', 'billing']);
    expect(writes().map((w) => w.method)).toEqual(['PUT', 'PUT']);
    const cm = fake.configMaps.get('shop/tether-trust-bundle')!;
    expect(cm['data'].sequence).toBe('2');
    expect(cm['metadata'].resourceVersion).not.toBe(before);
  });

  it('repairs a ConfigMap someone edited', async () => {
    await publisher().sync();
    fake.configMaps.get('billing/tether-trust-bundle')!['data']['bundle.pem'] = 'tampered';
    expect((await publisher().sync()).written).toEqual(['billing']);
    expect(fake.configMaps.get('billing/tether-trust-bundle')!['data']['bundle.pem']).toBe(bundle.pem);
  });

  it('keeps publishing to the other namespaces when one forbids it (no RoleBinding)', async () => {
    fake.forbidden.add('shop');
    expect(await publisher().sync()).toEqual({
      written: ['billing'],
      unchanged: [],
      failed: ['shop'],
      webhook: null,
    });
  });

  it('publishes to a namespace enabled after the last sync', async () => {
    await publisher().sync();
    fake.namespaces.set('payments', { 'tether.io/inject': 'enabled' });
    expect(await publisher().sync()).toEqual({
      written: ['payments'],
      unchanged: ['shop', 'billing'],
      failed: [],
      webhook: null,
    });
  });

  it('reports nothing written, without throwing, when the API cannot be reached', async () => {
    const down = new BundlePublisher({
      api: async () => Promise.reject(new Error('connection refused')),
      bundle: () => bundle,
      log,
    });
    expect(await down.sync()).toEqual({ written: [], unchanged: [], failed: [], webhook: null });
  });

  it('coalesces syncs requested while one runs into one more run', async () => {
    const p = publisher();
    const [a, b] = await Promise.all([p.sync(), p.sync()]);
    expect(a).toBe(b);
    await p.idle();
    expect(fake.requests.filter((r) => r.path === '/api/v1/namespaces')).toHaveLength(2);
  });

  it('keeps the injection webhook caBundle equal to the bundle, preserving the rest of the object', async () => {
    fake.webhookConfigurations.set('tether-injector', webhookConfiguration());
    const p = new BundlePublisher({
      api: async () => api,
      bundle: () => bundle,
      log,
      webhookConfiguration: 'tether-injector',
    });
    expect((await p.sync()).webhook).toBe('written');
    const stored = fake.webhookConfigurations.get('tether-injector')!;
    for (const w of stored['webhooks']) {
      expect(Buffer.from(w.clientConfig.caBundle, 'base64').toString()).toBe(bundle.pem);
      expect(w.clientConfig.service).toEqual({
        name: 'tether-injector',
        namespace: 'tether-system',
        path: '/inject',
        port: 443,
      });
    }
    expect(stored['webhooks'].map((w: { name: string }) => w.name)).toEqual([
      'namespace.inject.tether.io',
      'pod.inject.tether.io',
    ]);
    fake.requests.length = 0;
    expect((await p.sync()).webhook).toBe('unchanged');
    expect(writes()).toEqual([]);
    bundle = { pem: `${bundle.pem}${bundle.pem}`, sequence: 2 };
    expect((await p.sync()).webhook).toBe('written');
  });

  it('reports a missing webhook configuration without failing the ConfigMaps', async () => {
    const p = new BundlePublisher({
      api: async () => api,
      bundle: () => bundle,
      log,
      webhookConfiguration: 'tether-injector',
    });
    expect(await p.sync()).toEqual({
      written: ['shop', 'billing'],
      unchanged: [],
      failed: [],
      webhook: 'missing',
    });
  });
});

function webhookConfiguration() {
  const hook = (name: string) => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    clientConfig: {
      service: { name: 'tether-injector', namespace: 'tether-system', path: '/inject', port: 443 },
    },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
  });
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'tether-injector', resourceVersion: '7' },
    webhooks: [hook('namespace.inject.tether.io'), hook('pod.inject.tether.io')],
  };
}
