// RFC 6902 JSON Patch that injects the sidecar into a pod without disturbing what is there:
// arrays that are absent are added whole, arrays that exist are appended to with `/-`, and
// nothing existing is replaced or removed.
import { ANNOTATION } from './annotations.js';
import { APP_RUN_MOUNT } from './sidecar-container.js';

export interface PatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

/** The parts of a pod the patch needs to look at. */
export interface PodShape {
  readonly metadata?: { readonly annotations?: Record<string, string> | undefined } | undefined;
  readonly spec: {
    readonly containers: readonly {
      readonly volumeMounts?: readonly { readonly mountPath?: string }[] | undefined;
    }[];
    readonly initContainers?: readonly unknown[] | undefined;
    readonly volumes?: readonly unknown[] | undefined;
  };
}

/** RFC 6901 escaping of one path segment. */
export function pointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function appendAll(ops: PatchOperation[], path: string, present: boolean, items: readonly unknown[]): void {
  if (!present) {
    ops.push({ op: 'add', path, value: [...items] });
    return;
  }
  for (const item of items) ops.push({ op: 'add', path: `${path}/-`, value: item });
}

export interface Injection {
  readonly container: Record<string, unknown>;
  readonly volumes: readonly Record<string, unknown>[];
  readonly nativeSidecar: boolean;
  readonly sidecarConfigYaml: string;
}

/** The patch for `pod`; its result keeps every existing container, init container and volume. */
export function buildInjectionPatch(pod: PodShape, inj: Injection): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const annotations = {
    [ANNOTATION.status]: 'injected',
    [ANNOTATION.sidecarConfig]: inj.sidecarConfigYaml,
  };
  if (!pod.metadata) ops.push({ op: 'add', path: '/metadata', value: { annotations } });
  else if (!pod.metadata.annotations)
    ops.push({ op: 'add', path: '/metadata/annotations', value: annotations });
  else
    for (const [k, v] of Object.entries(annotations))
      ops.push({ op: 'add', path: `/metadata/annotations/${pointerSegment(k)}`, value: v });

  // Native sidecars run after the existing init containers (which keep working as before) and
  // before the app containers; the fallback is a regular container beside the app.
  if (inj.nativeSidecar)
    appendAll(ops, '/spec/initContainers', pod.spec.initContainers !== undefined, [inj.container]);
  else ops.push({ op: 'add', path: '/spec/containers/-', value: inj.container });
  appendAll(ops, '/spec/volumes', pod.spec.volumes !== undefined, inj.volumes);

  pod.spec.containers.forEach((c, i) => {
    const mounts = c.volumeMounts;
    if (mounts?.some((m) => m?.mountPath === APP_RUN_MOUNT.mountPath)) return; // the app uses that path itself
    appendAll(ops, `/spec/containers/${i}/volumeMounts`, mounts !== undefined, [APP_RUN_MOUNT]);
  });
  return ops;
}
