// AdmissionReview v1 handling: validate the review, decide whether the pod gets a sidecar
// (opt-out, already injected, hostNetwork) and answer with a JSON patch or a clear denial.
import { asTetherError, TetherError } from '../../common/errors.js';
import { ANNOTATION, planSidecar, type SidecarPlan } from './annotations.js';
import { buildInjectionPatch, type PatchOperation, type PodShape } from './patch.js';
import { MESH, SIDECAR_NAME } from './pod-layout.js';
import { sidecarConfigYaml } from './sidecar-config.js';
import { sidecarContainer, sidecarVolumes } from './sidecar-container.js';

export interface InjectorSettings {
  readonly trustDomain: string;
  readonly caAddress: string;
  readonly image: string;
  readonly audience: string;
  readonly nativeSidecar: boolean;
}

export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  readonly status?: { readonly code: number; readonly message: string };
  readonly patchType?: 'JSONPatch';
  readonly patch?: string;
  readonly warnings?: string[];
}

/** What happened to one review, for the log line and the test. */
export interface AdmissionOutcome {
  readonly response: AdmissionResponse;
  readonly decision: 'injected' | 'skipped' | 'denied';
  readonly reason: string;
  readonly patch: PatchOperation[] | null;
}

interface Pod extends PodShape {
  readonly metadata?: {
    readonly annotations?: Record<string, string>;
    readonly labels?: Record<string, string>;
    readonly name?: string;
    readonly generateName?: string;
  };
  readonly spec: PodShape['spec'] & {
    readonly hostNetwork?: boolean;
    readonly initContainers?: readonly { readonly name?: string }[];
    readonly containers: readonly {
      readonly name?: string;
      readonly volumeMounts?: readonly { readonly mountPath?: string }[];
      readonly ports?: readonly ({ readonly containerPort?: unknown } | null)[];
    }[];
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): TetherError {
  return new TetherError('ERR_ADMISSION_INVALID', message);
}

/** Checks the review's envelope; returns the request's uid and pod. */
export function readReview(body: unknown): { uid: string; pod: Pod; namespace: string } {
  if (!isObject(body) || body['apiVersion'] !== 'admission.k8s.io/v1' || body['kind'] !== 'AdmissionReview')
    throw invalid('expected an AdmissionReview of apiVersion admission.k8s.io/v1');
  const req = body['request'];
  if (!isObject(req) || typeof req['uid'] !== 'string' || req['uid'] === '')
    throw invalid('the AdmissionReview has no request.uid');
  const kind = req['kind'];
  if (!isObject(kind) || kind['kind'] !== 'Pod' || (kind['group'] ?? '') !== '')
    throw invalid('the injector only handles Pods (request.kind must be core/v1 Pod)');
  const pod = req['object'];
  if (
    !isObject(pod) ||
    !isObject(pod['spec']) ||
    !Array.isArray(pod['spec']['containers']) ||
    pod['spec']['containers'].length === 0
  )
    throw invalid('request.object is not a Pod with spec.containers');
  for (const c of [
    ...pod['spec']['containers'],
    ...(Array.isArray(pod['spec']['initContainers']) ? pod['spec']['initContainers'] : []),
  ])
    if (!isObject(c) || ['volumeMounts', 'ports'].some((k) => c[k] !== undefined && !Array.isArray(c[k])))
      throw invalid('every container must be an object whose volumeMounts and ports, if set, are lists');
  for (const key of ['initContainers', 'volumes'] as const)
    if (pod['spec'][key] !== undefined && !Array.isArray(pod['spec'][key]))
      throw invalid(`spec.${key} is not a list`);
  const metadata = pod['metadata'];
  if (metadata !== undefined && !isObject(metadata)) throw invalid('metadata is not an object');
  for (const key of ['annotations', 'labels'] as const) {
    const map = metadata?.[key];
    if (map !== undefined && (!isObject(map) || Object.values(map).some((v) => typeof v !== 'string')))
      throw invalid(`metadata.${key} must map names to strings`);
  }
  const namespace = typeof req['namespace'] === 'string' ? req['namespace'] : '';
  return { uid: req['uid'], pod: pod as unknown as Pod, namespace };
}

/** The ports the sidecar binds in the pod's network namespace. */
export function sidecarPorts(plan: SidecarPlan): number[] {
  return [
    MESH.adminPort,
    ...plan.outbound.map((_, n) => MESH.firstOutboundPort + n),
    ...plan.inbound.map((_, n) => MESH.firstInboundPort + n),
  ];
}

/** A pod whose containers already use a port the sidecar needs would fail at run time: refuse now. */
function refusePortClashes(pod: Pod, plan: SidecarPlan): void {
  const taken = new Set(sidecarPorts(plan));
  for (const i of plan.inbound)
    if (taken.has(i.appPort))
      throw invalid(`annotation tether.io/inbound: port ${i.appPort} is one the sidecar itself listens on`);
  for (const c of pod.spec.containers)
    for (const p of c.ports ?? [])
      if (taken.has(Number(p?.containerPort)))
        throw invalid(
          `container ${c.name ?? '(unnamed)'} uses port ${p?.containerPort}, which the Tether sidecar needs (15000, 15001+, 15006+)`,
        );
}

/** Why this pod is left alone, or null if it gets a sidecar. */
export function skipReason(pod: Pod): string | null {
  const annotations = pod.metadata?.annotations ?? {};
  const labels = pod.metadata?.labels ?? {};
  if (annotations[ANNOTATION.inject] === 'false' || labels[ANNOTATION.inject] === 'false')
    return 'opted out (tether.io/inject: "false")';
  const names = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => c?.name);
  if (annotations[ANNOTATION.status] === 'injected' || names.includes(SIDECAR_NAME))
    return 'already injected';
  if (pod.spec.hostNetwork === true) return "hostNetwork pods share the node's ports; not injected";
  return null;
}

function answer(
  uid: string,
  decision: AdmissionOutcome['decision'],
  reason: string,
  patch: PatchOperation[] | null,
  warnings: string[] = [],
): AdmissionOutcome {
  const base = { uid, allowed: decision !== 'denied', ...(warnings.length ? { warnings } : {}) };
  const response: AdmissionResponse =
    decision === 'denied'
      ? { ...base, status: { code: 400, message: `tether injector: ${reason}` } }
      : patch
        ? { ...base, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') }
        : base;
  return { response, decision, reason, patch };
}

/** Decides one review. Never throws: malformed input becomes a denial that says why. */
export function admit(body: unknown, s: InjectorSettings): AdmissionOutcome {
  let uid = '';
  try {
    const review = readReview(body);
    uid = review.uid;
    const skip = skipReason(review.pod);
    if (skip)
      return answer(uid, 'skipped', skip, null, review.pod.spec.hostNetwork ? [`tether: ${skip}`] : []);
    const plan = planSidecar(review.pod.metadata?.annotations ?? {}, s.trustDomain);
    refusePortClashes(review.pod, plan);
    const patch = buildInjectionPatch(review.pod, {
      container: sidecarContainer(plan, s),
      volumes: sidecarVolumes(s),
      nativeSidecar: s.nativeSidecar,
      sidecarConfigYaml: sidecarConfigYaml(plan, s),
    });
    return answer(
      uid,
      'injected',
      `sidecar injected into namespace ${review.namespace || '(unknown)'}`,
      patch,
    );
  } catch (err) {
    const e = asTetherError(err);
    if (isObject(body) && isObject(body['request']) && typeof body['request']['uid'] === 'string')
      uid = body['request']['uid'];
    return answer(uid, 'denied', e.code === 'ERR_INTERNAL' ? 'internal error' : e.message, null);
  }
}
