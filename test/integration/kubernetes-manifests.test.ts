// deploy/kubernetes/ checked without a cluster: every resource the kustomizations list is valid
// against the Kubernetes schemas (kubernetes-models), the pieces agree with each other and with
// the code (ports, paths, names, the CA config), RBAC is least-privilege, and the example app's
// pods, run through the injector, still validate and yield configs the sidecar loads.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Pod,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadCaConfig } from '../../ca/config/load.js';
import { admit } from '../../ca/injector/admission.js';
import { INJECT_PATH } from '../../ca/injector/server.js';
import { loadSidecarConfig } from '../../sidecar/config/load.js';
import { REPO_ROOT, removeDir, tempDir } from '../helpers/ca-process.js';

// biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML here
type Json = Record<string, any>;
type Model = new (o: never) => { validate(): void };

const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
};

const BASE = path.join(REPO_ROOT, 'deploy/kubernetes');
const EXAMPLE = path.join(BASE, 'example');
const work = tempDir();
afterAll(() => removeDir(work));

/** The resources a kustomization lists, parsed (the same set `kubectl kustomize` renders). */
function resources(dir: string): Json[] {
  const k = parseAllDocuments(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as Json;
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
  expect([...k['resources']].sort()).toEqual(files.sort()); // nothing unlisted, nothing missing
  return (k['resources'] as string[]).flatMap((f) =>
    parseAllDocuments(readFileSync(path.join(dir, f), 'utf8')).map((d) => {
      expect(d.errors).toEqual([]);
      return d.toJS() as Json;
    }),
  );
}

const base = resources(BASE);
const example = resources(EXAMPLE);
const find = (docs: Json[], kind: string, name: string) =>
  docs.find((d) => d['kind'] === kind && d['metadata'].name === name) as Json;

function caConfigFile(): string {
  const file = path.join(work, 'ca.yaml');
  writeFileSync(file, find(base, 'ConfigMap', 'tether-ca-config')['data']['ca.yaml']);
  return file;
}

describe('every manifest', () => {
  it('validates against the Kubernetes schemas', () => {
    for (const doc of [...base, ...example]) {
      const Model = MODELS[`${doc['apiVersion']}/${doc['kind']}`];
      expect(Model, `${doc['apiVersion']} ${doc['kind']}`).toBeDefined();
      expect(
        () => new Model!(doc as never).validate(),
        `${doc['kind']} ${doc['metadata'].name}`,
      ).not.toThrow();
    }
  });

  it('is checked by a validator that does reject a broken resource', () => {
    const broken = structuredClone(find(base, 'Deployment', 'tether-ca'));
    broken['spec'].replicas = 'one';
    expect(() => new Deployment(broken as never).validate()).toThrow(/replicas must be integer/);
  });

  it('runs every container hardened: non-root, no privilege escalation, no capabilities, read-only root', () => {
    for (const d of [...base, ...example].filter((x) => x['kind'] === 'Deployment')) {
      const spec = d['spec'].template.spec;
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        expect(c.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.resources.limits.memory).toBeDefined();
        expect(c.image).toBe('tether'); // the kustomization's `images` entry sets registry and tag
      }
    }
  });
});

describe('the control plane', () => {
  it('has a CA config that the CA loads, naming both Services in its serving certificate', () => {
    const config = loadCaConfig(caConfigFile(), {});
    expect(config.kubernetes).toMatchObject({
      tokenReview: true,
      publishBundle: true,
      audience: 'tether-ca',
    });
    for (const svc of base.filter((d) => d['kind'] === 'Service'))
      expect(config.dnsNames).toContain(`${svc['metadata'].name}.${svc['metadata'].namespace}.svc`);
  });

  it('routes the webhook to POST /inject on the CA pod port the injector listens on', () => {
    const config = loadCaConfig(caConfigFile(), {});
    const hook = find(base, 'MutatingWebhookConfiguration', config.kubernetes.injector.webhookConfiguration);
    const svc = find(base, 'Service', 'tether-injector');
    const ca = find(base, 'Deployment', 'tether-ca')['spec'].template.spec.containers[0];
    for (const w of hook['webhooks']) {
      expect(w.clientConfig.service).toEqual({
        name: 'tether-injector',
        namespace: 'tether-system',
        path: INJECT_PATH,
        port: 443,
      });
      expect(w.admissionReviewVersions).toEqual(['v1']);
      expect(w.sideEffects).toBe('None');
    }
    const target = svc['spec'].ports.find((p: Json) => p.port === 443).targetPort;
    const containerPort = ca.ports.find((p: Json) => p.name === target).containerPort;
    expect(config.kubernetes.injector.listen).toBe(`0.0.0.0:${containerPort}`);
    expect(config.kubernetes.injector.caAddress).toBe(
      `tether-ca.tether-system.svc:${find(base, 'Service', 'tether-ca')['spec'].ports[0].port}`,
    );
  });

  it('grants the CA only tokenreviews create, namespace reads, its webhook configuration and the bundle ConfigMap', () => {
    const rules = (name: string) => find(base, 'ClusterRole', name)['rules'] as Json[];
    expect(rules('tether-ca')).toEqual([
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch'] },
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: [loadCaConfig(caConfigFile(), {}).kubernetes.injector.webhookConfiguration],
        verbs: ['get', 'update'],
      },
    ]);
    const publisher = rules('tether-trust-bundle-publisher');
    expect(publisher.flatMap((r) => r.resources)).toEqual(['configmaps', 'configmaps']);
    expect(publisher.find((r) => r.verbs.includes('update'))?.resourceNames).toEqual(['tether-trust-bundle']);
    const all = JSON.stringify([...base, ...example].filter((d) => /Role/.test(d['kind'])));
    expect(all).not.toMatch(/"\*"/);
  });

  it('keeps one CA writer: one replica, Recreate, the data dir on the PVC, a PDB', () => {
    const d = find(base, 'Deployment', 'tether-ca')['spec'];
    expect(d.replicas).toBe(1);
    expect(d.strategy.type).toBe('Recreate');
    expect(d.template.spec.volumes.find((v: Json) => v.name === 'data').persistentVolumeClaim.claimName).toBe(
      'tether-ca-data',
    );
    expect(find(base, 'PodDisruptionBudget', 'tether-ca')['spec'].selector.matchLabels).toEqual(
      d.selector.matchLabels,
    );
  });
});

describe('the example app', () => {
  const settings = (() => {
    const k = loadCaConfig(caConfigFile(), {}).kubernetes;
    return {
      trustDomain: 'cluster.local',
      caAddress: k.injector.caAddress,
      image: k.injector.image,
      audience: k.audience,
      nativeSidecar: true,
    };
  })();

  it('is in a namespace enabled for injection, with the publisher RoleBinding', () => {
    expect(find(example, 'Namespace', 'shop')['metadata'].labels['tether.io/inject']).toBe('enabled');
    const binding = find(example, 'RoleBinding', 'tether-trust-bundle-publisher');
    expect(binding['roleRef'].name).toBe('tether-trust-bundle-publisher');
    expect(binding['subjects']).toEqual([
      { kind: 'ServiceAccount', name: 'tether-ca', namespace: 'tether-system' },
    ]);
  });

  for (const name of ['orders', 'web']) {
    it(`injects ${name}'s pod template into a valid pod whose sidecar config loads`, () => {
      const template = find(example, 'Deployment', name)['spec'].template;
      const pod = { apiVersion: 'v1', kind: 'Pod', ...structuredClone(template) };
      const body = {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: name,
          kind: { group: '', version: 'v1', kind: 'Pod' },
          namespace: 'shop',
          object: pod,
        },
      };
      const outcome = admit(body, settings);
      expect(outcome.decision).toBe('injected');
      const result = fastJsonPatch.applyPatch(pod, outcome.patch!, true, false).newDocument as Json;
      expect(() => new Pod(result as never).validate()).not.toThrow();
      const file = path.join(work, `${name}.yaml`);
      writeFileSync(file, result['metadata'].annotations['tether.io/sidecar-config']);
      const config = loadSidecarConfig(file);
      if (name === 'orders') {
        const svc = find(example, 'Service', 'orders');
        expect(config.inbound[0]!.listen).toBe(`0.0.0.0:${svc['spec'].ports[0].targetPort}`);
        expect(config.inbound[0]!.allow).toEqual([
          `spiffe://cluster.local/ns/shop/sa/${find(example, 'Deployment', 'web')['spec'].template.spec.serviceAccountName}`,
        ]);
      } else {
        expect(config.outbound[0]).toMatchObject({
          upstream: 'orders.shop:15006',
          serverId: 'spiffe://cluster.local/ns/shop/sa/orders',
          listen: '127.0.0.1:15001',
        });
        expect(result['spec'].containers[0].args).toContain('http://127.0.0.1:15001');
      }
    });
  }
});
