import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import { Pod } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { admit, type InjectorSettings } from './admission.js';

const settings = (nativeSidecar = true): InjectorSettings => ({
  trustDomain: 'cluster.local',
  caAddress: 'tether-ca.tether-system.svc:8443',
  image: 'tether:1.0',
  audience: 'tether-ca',
  nativeSidecar,
});

const review = (pod: unknown) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'shop', object: pod },
});

const pod = (extra: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', ...metadata },
  spec: { containers: [{ name: 'app', image: 'app:1' }], ...extra },
});

describe('admit', () => {
  it('injects a regular container in fallback mode, and the pod still validates', () => {
    const out = admit(review(pod()), settings(false));
    expect(out.decision).toBe('injected');
    const result = fastJsonPatch.applyPatch(pod(), out.patch!, true, false).newDocument;
    expect(() => new Pod(result as never).validate()).not.toThrow();
    const sidecar = result.spec.containers[1] as Record<string, unknown>;
    expect(sidecar['name']).toBe('tether-sidecar');
    expect(sidecar['restartPolicy']).toBeUndefined();
    expect(sidecar['image']).toBe('tether:1.0');
  });

  it('skips hostNetwork pods with a warning rather than clashing with node ports', () => {
    const out = admit(review(pod({ hostNetwork: true })), settings());
    expect(out.decision).toBe('skipped');
    expect(out.response).toMatchObject({ allowed: true, warnings: [expect.stringMatching(/hostNetwork/)] });
  });

  it('honours the opt-out label as well as the annotation', () => {
    expect(admit(review(pod({}, { labels: { 'tether.io/inject': 'false' } })), settings()).decision).toBe(
      'skipped',
    );
    expect(
      admit(review(pod({}, { annotations: { 'tether.io/inject': 'false' } })), settings()).decision,
    ).toBe('skipped');
    expect(admit(review(pod({}, { annotations: { 'tether.io/inject': 'true' } })), settings()).decision).toBe(
      'injected',
    );
  });

  it('treats a pod that already has a tether-sidecar container as injected', () => {
    const injected = pod({ initContainers: [{ name: 'tether-sidecar', image: 'x' }] });
    expect(admit(review(injected), settings())).toMatchObject({
      decision: 'skipped',
      reason: 'already injected',
    });
  });

  it('denies annotations that are not strings instead of failing on them', () => {
    const out = admit(review(pod({}, { annotations: { 'tether.io/inbound': 8080 } })), settings());
    expect(out).toMatchObject({
      decision: 'denied',
      reason: 'metadata.annotations must map names to strings',
    });
  });

  it('refuses pods whose containers use a port the sidecar needs, naming the container', () => {
    const clash = pod(
      { containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 15006 }] }] },
      { annotations: { 'tether.io/inbound': '8080' } },
    );
    expect(admit(review(clash), settings())).toMatchObject({
      decision: 'denied',
      reason: expect.stringMatching(/container app uses port 15006/),
    });
    const self = pod({}, { annotations: { 'tether.io/inbound': '15000' } });
    expect(admit(review(self), settings())).toMatchObject({
      decision: 'denied',
      reason: expect.stringMatching(/port 15000 is one the sidecar itself/),
    });
    const fine = pod(
      { containers: [{ name: 'app', image: 'a', ports: [{ containerPort: 15007 }] }] },
      { annotations: { 'tether.io/inbound': '8080' } },
    );
    expect(admit(review(fine), settings()).decision).toBe('injected');
  });

  it('never fails internally on containers with arbitrary fields', () => {
    const container = fc.dictionary(
      fc.constantFrom('name', 'image', 'ports', 'volumeMounts'),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(fc.array(container, { minLength: 1, maxLength: 3 }), (containers) => {
        const out = admit(
          review({ metadata: { annotations: { 'tether.io/inbound': '8080' } }, spec: { containers } }),
          settings(),
        );
        expect(out.reason).not.toBe('internal error');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws: any JSON body becomes a decision', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        const out = admit(body, settings());
        expect(['injected', 'skipped', 'denied']).toContain(out.decision);
        expect(out.response.allowed).toBe(out.decision !== 'denied');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, nor fails internally, on pods with arbitrary spec fields', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('containers', 'initContainers', 'volumes', 'hostNetwork'),
          fc.jsonValue(),
        ),
        (spec) => {
          const out = admit(review({ metadata: {}, spec }), settings());
          expect(out.response.uid).toBe('u-1');
          expect(out.reason).not.toBe('internal error');
        },
      ),
      { numRuns: 300 },
    );
  });
});
