// The injected sidecar container and the volumes it needs: projected token (audience tether-ca,
// 1 h), trust bundle ConfigMap, the generated config (downward API) and an emptyDir, hardened
// (non-root, read-only root FS, no capabilities, RuntimeDefault seccomp) with requests/limits.
import type { SidecarPlan } from './annotations.js';
import { ANNOTATION } from './annotations.js';
import {
  BUNDLE_CONFIGMAP,
  BUNDLE_KEY,
  MESH,
  PATHS,
  SIDECAR_NAME,
  SIDECAR_UID,
  TOKEN_EXPIRATION_SECONDS,
  VOLUMES,
} from './pod-layout.js';

export interface ContainerSettings {
  readonly image: string;
  readonly audience: string;
  /** Init container with restartPolicy Always (Kubernetes ≥ 1.29) instead of a regular container. */
  readonly nativeSidecar: boolean;
}

function probe(path: string, periodSeconds: number, failureThreshold: number) {
  return { httpGet: { path, port: MESH.adminPort }, periodSeconds, failureThreshold, timeoutSeconds: 1 };
}

/** The sidecar container spec. */
export function sidecarContainer(plan: SidecarPlan, s: ContainerSettings): Record<string, unknown> {
  return {
    name: SIDECAR_NAME,
    image: s.image,
    args: ['sidecar', 'run', '--config', PATHS.configFile],
    ...(s.nativeSidecar ? { restartPolicy: 'Always' } : {}),
    ports: [
      { name: 'tether-admin', containerPort: MESH.adminPort, protocol: 'TCP' },
      ...plan.inbound.map((_, n) => ({
        name: `tether-in-${n}`,
        containerPort: MESH.firstInboundPort + n,
        protocol: 'TCP',
      })),
    ],
    // A native sidecar's startup probe holds back the app containers until the identity is ready.
    startupProbe: probe('/readyz', 1, 120),
    readinessProbe: probe('/readyz', 5, 3),
    livenessProbe: probe('/healthz', 10, 3),
    resources: {
      requests: { cpu: '20m', memory: '48Mi' },
      limits: { cpu: '500m', memory: '128Mi' },
    },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_UID,
      runAsGroup: SIDECAR_UID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: VOLUMES.config, mountPath: PATHS.configDir, readOnly: true },
      { name: VOLUMES.bundle, mountPath: PATHS.bundleDir, readOnly: true },
      { name: VOLUMES.token, mountPath: PATHS.tokenDir, readOnly: true },
      { name: VOLUMES.run, mountPath: PATHS.runDir },
    ],
  };
}

/** The pod volumes the sidecar mounts. */
export function sidecarVolumes(s: Pick<ContainerSettings, 'audience'>): Record<string, unknown>[] {
  return [
    {
      name: VOLUMES.token,
      projected: {
        sources: [
          {
            serviceAccountToken: {
              audience: s.audience,
              expirationSeconds: TOKEN_EXPIRATION_SECONDS,
              path: 'token',
            },
          },
        ],
      },
    },
    {
      name: VOLUMES.bundle,
      configMap: { name: BUNDLE_CONFIGMAP, items: [{ key: BUNDLE_KEY, path: BUNDLE_KEY }] },
    },
    {
      name: VOLUMES.config,
      downwardAPI: {
        items: [
          {
            path: 'sidecar.yaml',
            fieldRef: { fieldPath: `metadata.annotations['${ANNOTATION.sidecarConfig}']` },
          },
        ],
      },
    },
    { name: VOLUMES.run, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];
}

/** The mount app containers get: the shared run directory, read-only. */
export const APP_RUN_MOUNT = { name: VOLUMES.run, mountPath: PATHS.runDir, readOnly: true } as const;
