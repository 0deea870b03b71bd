// `tether ca serve` as it runs in a cluster, against a fake Kubernetes API over real HTTPS
// (reached through @kubernetes/client-node via KUBECONFIG, as in-cluster config would): TokenReview
// attestation, and the trust-bundle ConfigMap (and the injection webhook's caBundle) published and
// updated when `tether ca rotate --root` changes the bundle.
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromPem } from '../../common/pem.js';
import { buildCsr } from '../../sidecar/identity/csr.js';
import { caClient, signCertificate } from '../helpers/ca-client.js';
import {
  type CaProcess,
  initCa,
  removeDir,
  startCa,
  tempDir,
  tetherOk,
  writeConfig,
} from '../helpers/ca-process.js';
import { type FakeKubeApi, startFakeKubeApi } from '../helpers/fake-kube-api.js';
import { newKey } from '../helpers/workload.js';

let fake: FakeKubeApi;
let ca: CaProcess;
let dataDir: string;
let work: string;
const reviewed: { token: string; audiences: string[] }[] = [];

async function send(kubernetesToken: string) {
  const client = caClient(ca.address, ca.bundlePem);
  try {
    return await signCertificate(client, { csr: buildCsr(newKey()), kubernetesToken });
  } finally {
    client.close();
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const bundleIn = (ns: string) => fake.configMaps.get(`${ns}/tether-trust-bundle`)?.['data'];
const webhookCaBundle = () => {
  const b = fake.webhookConfigurations.get('tether-injector')?.['webhooks'][0].clientConfig.caBundle;
  return b ? Buffer.from(b, 'base64').toString('utf8') : undefined;
};

beforeAll(async () => {
  work = tempDir();
  fake = await startFakeKubeApi(work);
  fake.namespaces.set('shop', { 'tether.io/inject': 'enabled' });
  fake.namespaces.set('billing', { 'tether.io/inject': 'enabled' });
  fake.namespaces.set('default', {});
  fake.forbidden.add('billing');
  fake.webhookConfigurations.set('tether-injector', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'tether-injector', resourceVersion: '1' },
    webhooks: [
      {
        name: 'namespace.inject.tether.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: { service: { name: 'tether-injector', namespace: 'tether-system', path: '/inject' } },
      },
    ],
  });
  fake.reviewToken = (token, audiences) => {
    reviewed.push({ token, audiences });
    const pod = {
      'authentication.kubernetes.io/pod-name': ['web-5c9d-abcde'],
      'authentication.kubernetes.io/pod-uid': ['6f1c2a9e-0000-4000-8000-00000000abcd'],
    };
    if (token === 'projected-web')
      return {
        authenticated: true,
        user: { username: 'system:serviceaccount:shop:web', extra: pod },
        audiences,
      };
    if (token === 'legacy-secret')
      return { authenticated: true, user: { username: 'system:serviceaccount:shop:web' }, audiences };
    if (token === 'other-audience')
      return {
        authenticated: true,
        user: { username: 'system:serviceaccount:shop:web', extra: pod },
        audiences: ['https://kubernetes.default.svc'],
      };
    return { authenticated: false, error: '[invalid bearer token, token lookup failed]' };
  };
  dataDir = await initCa('cluster.local');
  const config = writeConfig(
    work,
    'kubernetes:\n  tokenReview: true\n  publishBundle: true\n  injector:\n    listen: 127.0.0.1:0\n',
  );
  ca = await startCa({ dataDir, config, env: { KUBECONFIG: fake.kubeconfig } });
});

afterAll(async () => {
  await ca?.stop();
  await fake?.close();
  removeDir(path.dirname(dataDir));
  removeDir(work);
});

describe('TokenReview attestation', () => {
  it('issues spiffe://<td>/ns/<ns>/sa/<sa> for a token the API server authenticates, asking for audience tether-ca', async () => {
    const res = await send('projected-web');
    expect(res.spiffeId).toBe('spiffe://cluster.local/ns/shop/sa/web');
    expect(reviewed.at(-1)).toEqual({ token: 'projected-web', audiences: ['tether-ca'] });
  });

  it('refuses a token the API server does not authenticate, passing on its reason', async () => {
    await expect(send('forged')).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(/did not authenticate it .*token lookup failed/),
    });
  });

  it('refuses a legacy secret-based token (authenticated but bound to no pod)', async () => {
    await expect(send('legacy-secret')).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(/not bound to a pod/),
    });
  });

  it('refuses when the API server reports other audiences', async () => {
    await expect(send('other-audience')).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(/audience does not include tether-ca/),
    });
  });
});

describe('trust-bundle ConfigMap', () => {
  it('is published to enabled namespaces at start, and the one without a RoleBinding is reported', async () => {
    await waitFor(() => bundleIn('shop') !== undefined);
    expect(fromPem(bundleIn('shop')!['bundle.pem'])).toEqual(fromPem(ca.bundlePem));
    expect(fake.configMaps.has('default/tether-trust-bundle')).toBe(false);
    expect(fake.configMaps.has('billing/tether-trust-bundle')).toBe(false);
    await waitFor(() => webhookCaBundle() !== undefined);
    expect(fromPem(webhookCaBundle()!)).toEqual(fromPem(ca.bundlePem));
    await waitFor(() => ca.logs().some((l) => l['namespace'] === 'billing' && l['level'] === 50));
  });

  it('is updated when a root rotation changes the bundle', async () => {
    const before = Number(bundleIn('shop')!['sequence']);
    await tetherOk(['ca', 'rotate', '--root', '--data-dir', dataDir]);
    await waitFor(() => Number(bundleIn('shop')?.['sequence']) > before);
    const roots = fromPem(bundleIn('shop')!['bundle.pem']);
    expect(roots).toHaveLength(2);
    const now = fromPem(`${await tetherOk(['ca', 'bundle', '--data-dir', dataDir])}\n`);
    expect(roots).toEqual(now);
    await waitFor(() => fromPem(webhookCaBundle() ?? '').length === 2);
    expect(fromPem(webhookCaBundle()!)).toEqual(now);
  });
});
