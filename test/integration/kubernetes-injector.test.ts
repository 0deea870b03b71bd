// The sidecar-injection webhook of the real `tether ca serve --injector-listen`: realistic
// AdmissionReviews over HTTPS (verified against the mesh root), the JSON patch applied with an
// independent RFC 6902 implementation (fast-json-patch), the result validated against the
// Kubernetes schemas (kubernetes-models), and the generated config loaded by the sidecar's loader.
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import path from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSidecarConfig } from '../../sidecar/config/load.js';
import { type CaProcess, initCa, removeDir, startCa, tempDir } from '../helpers/ca-process.js';

const WEBHOOK_DNS = 'tether-injector.tether-system.svc';
let ca: CaProcess;
let port: number;
let work: string;

interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

function post(
  body: string,
  o: { path?: string; method?: string; servername?: string; host?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: o.host ?? '127.0.0.1',
        port,
        method: o.method ?? 'POST',
        path: o.path ?? '/inject?timeout=10s',
        ca: ca.bundlePem,
        ...(o.servername ? { servername: o.servername } : {}),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function review(pod: object, o: { uid?: string; namespace?: string; kind?: object } = {}) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? 'b5f3c7de-1c8e-4d4b-9a43-0e6a3c3d8f01',
      kind: o.kind ?? { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      namespace: o.namespace ?? 'shop',
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:kube-system:replicaset-controller',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

// biome-ignore lint/suspicious/noExplicitAny: pods are free-form JSON here
type Json = Record<string, any>;

/** The pod a Deployment's ReplicaSet creates: two containers, an init container, three volumes. */
function ordersPod(): Json {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: 'orders-7d9f8c5b6-',
      namespace: 'shop',
      labels: { app: 'orders', 'pod-template-hash': '7d9f8c5b6' },
      annotations: {
        'tether.io/inbound': '8080',
        'tether.io/inbound-allow': 'spiffe://cluster.local/ns/shop/sa/web',
        'tether.io/outbound': 'payments=payments.billing:15006@spiffe://cluster.local/ns/billing/sa/payments',
        'tether.io/token-issuer': 'https://tether-ca.tether-system.svc:8444',
        'tether.io/inbound-token-audience': 'orders',
        'tether.io/inbound-token-scopes': 'read:orders',
        'tether.io/outbound-token': 'payments=pay',
        'kubectl.kubernetes.io/restartedAt': '2026-11-20T10:00:00Z',
      },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'orders-7d9f8c5b6',
          uid: '3f1e2d4c-0000-4000-8000-000000000001',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      serviceAccountName: 'orders',
      initContainers: [
        {
          name: 'migrate',
          image: 'shop/orders:1.4',
          command: ['/app/migrate'],
          volumeMounts: [{ name: 'config', mountPath: '/etc/orders' }],
        },
      ],
      containers: [
        {
          name: 'orders',
          image: 'shop/orders:1.4',
          ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
          env: [{ name: 'LOG_LEVEL', value: 'info' }],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/orders', readOnly: true },
            {
              name: 'kube-api-access-x7k2p',
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true,
            },
          ],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
        },
        {
          name: 'log-shipper',
          image: 'fluent/fluent-bit:3.0',
          args: ['-c', '/fluent-bit/etc/fluent-bit.conf'],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'orders-config' } },
        { name: 'cache', emptyDir: {} },
        {
          name: 'kube-api-access-x7k2p',
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            ],
          },
        },
      ],
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
    },
  };
}

function patchOf(answer: HttpAnswer): fastJsonPatch.Operation[] {
  const response = answer.body['response'] as Json;
  expect(response['patchType']).toBe('JSONPatch');
  return JSON.parse(Buffer.from(response['patch'] as string, 'base64').toString('utf8'));
}

function applied(pod: Json, ops: fastJsonPatch.Operation[]): Json {
  // validateOperation = true: fast-json-patch refuses ops whose paths do not exist.
  return fastJsonPatch.applyPatch(structuredClone(pod), ops, true, false).newDocument as Json;
}

beforeAll(async () => {
  work = tempDir();
  ca = await startCa({
    dataDir: await initCa('cluster.local'),
    args: [
      '--injector-listen',
      '127.0.0.1:0',
      '--dns-name',
      WEBHOOK_DNS,
      '--dns-name',
      `${WEBHOOK_DNS}.cluster.local`,
    ],
  });
  port = ca.logs().find((l) => l['msg'] === 'CA serving')?.['injectorPort'] as number;
});

afterAll(async () => {
  await ca?.stop();
  removeDir(path.dirname(ca.dataDir));
  removeDir(work);
});

describe('serving certificate', () => {
  it('chains to the mesh root and is valid for the webhook Service name, localhost and 127.0.0.1', async () => {
    const body = JSON.stringify(review(ordersPod()));
    for (const servername of [WEBHOOK_DNS, `${WEBHOOK_DNS}.cluster.local`, 'localhost'])
      expect((await post(body, { servername })).status).toBe(200);
    expect((await post(body, { host: '127.0.0.1' })).status).toBe(200);
    await expect(post(body, { servername: 'evil.example.com' })).rejects.toThrow(/altnames|does not match/i);
  });
});

describe('a Deployment pod with several containers, an init container and volumes', () => {
  let answer: HttpAnswer;
  let pod: Json;
  beforeAll(async () => {
    answer = await post(JSON.stringify(review(ordersPod())));
    pod = applied(ordersPod(), patchOf(answer));
  });

  it('is allowed with a JSON patch, echoing the request uid', () => {
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(answer.body['response']).toMatchObject({
      uid: 'b5f3c7de-1c8e-4d4b-9a43-0e6a3c3d8f01',
      allowed: true,
    });
  });

  it('validates against the Kubernetes Pod schema after patching', () => {
    expect(() => new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow();
  });

  it('keeps every existing container, init container and volume as it was', () => {
    const before = ordersPod();
    expect(pod['spec'].initContainers[0]).toEqual(before['spec'].initContainers[0]);
    expect(pod['spec'].volumes.slice(0, 3)).toEqual(before['spec'].volumes);
    pod['spec'].containers.forEach((c: Json, i: number) => {
      const { volumeMounts, ...rest } = c;
      const { volumeMounts: oldMounts, ...oldRest } = before['spec'].containers[i];
      expect(rest).toEqual(oldRest);
      expect(volumeMounts.slice(0, oldMounts?.length ?? 0)).toEqual(oldMounts ?? []);
      expect(volumeMounts.at(-1)).toEqual({
        name: 'tether-run',
        mountPath: '/var/run/tether',
        readOnly: true,
      });
    });
    expect(pod['metadata'].annotations['kubectl.kubernetes.io/restartedAt']).toBe('2026-11-20T10:00:00Z');
    expect(pod['metadata'].ownerReferences).toEqual(before['metadata'].ownerReferences);
  });

  it('adds a hardened native sidecar after the existing init containers', () => {
    const sidecar = pod['spec'].initContainers[1];
    expect(pod['spec'].initContainers).toHaveLength(2);
    expect(sidecar).toMatchObject({
      name: 'tether-sidecar',
      restartPolicy: 'Always',
      args: ['sidecar', 'run', '--config', '/etc/tether/config/sidecar.yaml'],
      securityContext: {
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      },
      resources: {
        requests: { cpu: expect.any(String), memory: expect.any(String) },
        limits: { memory: expect.any(String) },
      },
    });
    expect(sidecar.ports.map((p: Json) => p.containerPort)).toEqual([15000, 15006]);
  });

  it('adds the projected token (audience tether-ca, 1 h), the bundle ConfigMap, the config and an emptyDir', () => {
    const added = Object.fromEntries(pod['spec'].volumes.slice(3).map((v: Json) => [v.name, v]));
    expect(added['tether-token'].projected.sources[0].serviceAccountToken).toEqual({
      audience: 'tether-ca',
      expirationSeconds: 3600,
      path: 'token',
    });
    expect(added['tether-bundle'].configMap.name).toBe('tether-trust-bundle');
    expect(added['tether-config'].downwardAPI.items[0].fieldRef.fieldPath).toBe(
      "metadata.annotations['tether.io/sidecar-config']",
    );
    expect(added['tether-run'].emptyDir).toBeDefined();
    expect(pod['metadata'].annotations['tether.io/status']).toBe('injected');
  });

  it('generates a sidecar config that the real sidecar loader accepts, with paths matching the mounts', () => {
    const file = path.join(work, 'sidecar.yaml');
    writeFileSync(file, pod['metadata'].annotations['tether.io/sidecar-config']);
    const config = loadSidecarConfig(file);
    const mounts = Object.fromEntries(
      pod['spec'].initContainers[1].volumeMounts.map((m: Json) => [m.name, m.mountPath]),
    );
    expect(config.ca).toMatchObject({
      address: 'tether-ca.tether-system.svc:8443',
      bundleFile: `${mounts['tether-bundle']}/bundle.pem`,
      kubernetesTokenFile: `${mounts['tether-token']}/token`,
    });
    expect(config.inbound).toEqual([
      expect.objectContaining({
        listen: '0.0.0.0:15006',
        forward: '127.0.0.1:8080',
        protocol: 'http',
        allow: ['spiffe://cluster.local/ns/shop/sa/web'],
        token: expect.objectContaining({
          issuer: 'https://tether-ca.tether-system.svc:8444',
          audience: 'orders',
          scopes: ['read:orders'],
        }),
      }),
    ]);
    expect(config.outbound).toEqual([
      expect.objectContaining({
        name: 'payments',
        listen: '127.0.0.1:15001',
        upstream: 'payments.billing:15006',
        serverId: 'spiffe://cluster.local/ns/billing/sa/payments',
        token: expect.objectContaining({ audience: 'payments', scope: 'pay' }),
      }),
    ]);
    expect(config.admin).toBe('0.0.0.0:15000');
  });

  it('leaves the injected pod alone when it is reviewed again (idempotent)', async () => {
    const again = await post(JSON.stringify(review(pod)));
    expect(again.body['response']).toEqual({ uid: 'b5f3c7de-1c8e-4d4b-9a43-0e6a3c3d8f01', allowed: true });
  });
});

describe('other pods', () => {
  it('adds whole arrays to a bare pod that has no annotations, init containers, volumes or mounts', async () => {
    const bare = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare' },
      spec: { containers: [{ name: 'app', image: 'busybox' }] },
    };
    const ops = patchOf(await post(JSON.stringify(review(bare))));
    expect(ops.map((o) => o.path)).toEqual(
      expect.arrayContaining([
        '/metadata/annotations',
        '/spec/initContainers',
        '/spec/volumes',
        '/spec/containers/0/volumeMounts',
      ]),
    );
    const pod = applied(bare, ops);
    expect(() => new Pod(pod as ConstructorParameters<typeof Pod>[0]).validate()).not.toThrow();
    const config = path.join(work, 'bare.yaml');
    writeFileSync(config, pod['metadata'].annotations['tether.io/sidecar-config']);
    expect(loadSidecarConfig(config)).toMatchObject({ inbound: [], outbound: [] });
  });

  it('does not touch a pod that opts out with tether.io/inject: "false"', async () => {
    const optOut = ordersPod();
    optOut['metadata'].annotations['tether.io/inject'] = 'false';
    const answer = await post(JSON.stringify(review(optOut, { uid: 'opt-out-1' })));
    expect(answer.body['response']).toEqual({ uid: 'opt-out-1', allowed: true });
  });
});

describe('malformed requests', () => {
  const denied = async (body: unknown, uid: string, message: RegExp) => {
    const answer = await post(JSON.stringify(body));
    expect(answer.status).toBe(200);
    expect(answer.body['response']).toMatchObject({
      uid,
      allowed: false,
      status: { code: 400, message: expect.stringMatching(message) },
    });
    expect((answer.body['response'] as Json)['patch']).toBeUndefined();
  };

  it('denies a review of something that is not a Pod', async () => {
    await denied(
      review({ spec: {} }, { uid: 'dep-1', kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }),
      'dep-1',
      /only handles Pods/,
    );
  });

  it('denies a review without request.uid', async () => {
    const body = review(ordersPod()) as Json;
    delete body['request'].uid;
    await denied(body, '', /no request.uid/);
  });

  it('denies a review of another apiVersion', async () => {
    await denied(
      { ...review(ordersPod(), { uid: 'beta-1' }), apiVersion: 'admission.k8s.io/v1beta1' },
      'beta-1',
      /admission.k8s.io\/v1/,
    );
  });

  it('denies a pod whose spec.volumes is not a list', async () => {
    const pod = ordersPod();
    pod['spec'].volumes = { name: 'x' };
    await denied(review(pod, { uid: 'vol-1' }), 'vol-1', /spec.volumes is not a list/);
  });

  it('denies a pod with an unusable annotation, naming it', async () => {
    const pod = ordersPod();
    pod['metadata'].annotations['tether.io/outbound'] = 'payments=payments.billing';
    await denied(
      review(pod, { uid: 'ann-1' }),
      'ann-1',
      /annotation tether.io\/outbound: .* expected entries like/,
    );
  });

  it('answers 400 to a body that is not JSON, 405 to GET and 404 elsewhere, and keeps serving', async () => {
    expect((await post('{"apiVersion": "admission.k8s.io/v1", ')).status).toBe(400);
    expect((await post('', { method: 'GET' })).status).toBe(405);
    expect((await post('{}', { path: '/mutate' })).status).toBe(404);
    const ok = await post(JSON.stringify(review(ordersPod(), { uid: 'after' })));
    expect(ok.body['response']).toMatchObject({ uid: 'after', allowed: true });
    const denials = ca.logs().filter((l) => l['msg'] === 'admission review' && l['decision'] === 'denied');
    expect(denials.length).toBeGreaterThanOrEqual(5);
  });
});
