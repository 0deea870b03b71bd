import fastJsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { buildInjectionPatch, type Injection, pointerSegment } from './patch.js';

const injection = (nativeSidecar = true): Injection => ({
  container: { name: 'tether-sidecar', image: 'tether' },
  volumes: [{ name: 'tether-run', emptyDir: {} }],
  nativeSidecar,
  sidecarConfigYaml: 'trustDomain: t\n',
});

// biome-ignore lint/suspicious/noExplicitAny: pods are free-form JSON in these tests
const apply = (pod: any, inj = injection()) =>
  fastJsonPatch.applyPatch(structuredClone(pod), buildInjectionPatch(pod, inj), true, false).newDocument;

describe('buildInjectionPatch', () => {
  it('adds whole arrays and objects where the pod has none', () => {
    const pod = { spec: { containers: [{ name: 'app' }] } };
    expect(apply(pod)).toEqual({
      metadata: {
        annotations: { 'tether.io/status': 'injected', 'tether.io/sidecar-config': 'trustDomain: t\n' },
      },
      spec: {
        containers: [
          {
            name: 'app',
            volumeMounts: [{ name: 'tether-run', mountPath: '/var/run/tether', readOnly: true }],
          },
        ],
        initContainers: [{ name: 'tether-sidecar', image: 'tether' }],
        volumes: [{ name: 'tether-run', emptyDir: {} }],
      },
    });
  });

  it('appends to arrays that exist and keeps every existing entry in place', () => {
    const pod = {
      metadata: { annotations: { a: '1' } },
      spec: {
        initContainers: [{ name: 'migrate' }],
        containers: [{ name: 'app', volumeMounts: [{ name: 'c', mountPath: '/c' }] }, { name: 'logs' }],
        volumes: [{ name: 'c', configMap: { name: 'c' } }],
      },
    };
    const out = apply(pod);
    expect(out.metadata.annotations.a).toBe('1');
    expect(out.spec.initContainers.map((c: { name: string }) => c.name)).toEqual([
      'migrate',
      'tether-sidecar',
    ]);
    expect(out.spec.volumes.map((v: { name: string }) => v.name)).toEqual(['c', 'tether-run']);
    expect(out.spec.containers[0].volumeMounts[0]).toEqual({ name: 'c', mountPath: '/c' });
    expect(out.spec.containers[1].volumeMounts).toHaveLength(1);
  });

  it('adds the sidecar as a regular container in fallback mode (clusters before 1.29)', () => {
    const out = apply({ spec: { containers: [{ name: 'app' }] } }, injection(false));
    expect(out.spec.initContainers).toBeUndefined();
    expect(out.spec.containers.map((c: { name: string }) => c.name)).toEqual(['app', 'tether-sidecar']);
    expect(out.spec.containers[1].volumeMounts).toBeUndefined();
  });

  it('does not mount the run directory over a path the app already uses', () => {
    const pod = {
      spec: { containers: [{ name: 'app', volumeMounts: [{ name: 'x', mountPath: '/var/run/tether' }] }] },
    };
    expect(apply(pod).spec.containers[0].volumeMounts).toEqual([{ name: 'x', mountPath: '/var/run/tether' }]);
  });

  it('escapes annotation keys as JSON pointers (RFC 6901)', () => {
    expect(pointerSegment('tether.io/status')).toBe('tether.io~1status');
    expect(pointerSegment('a~b/c')).toBe('a~0b~1c');
  });
});
