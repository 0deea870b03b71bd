// Where things live in an injected pod: volume names, mount paths and the mesh ports. One place,
// shared by the container builder, the config generator and the docs.

export const SIDECAR_NAME = 'tether-sidecar';

export const VOLUMES = {
  token: 'tether-token',
  bundle: 'tether-bundle',
  config: 'tether-config',
  run: 'tether-run',
} as const;

export const PATHS = {
  tokenDir: '/var/run/secrets/tether',
  tokenFile: '/var/run/secrets/tether/token',
  bundleDir: '/etc/tether/bundle',
  bundleFile: '/etc/tether/bundle/bundle.pem',
  configDir: '/etc/tether/config',
  configFile: '/etc/tether/config/sidecar.yaml',
  /** emptyDir shared with the app: certificate files now, the Workload API socket later. */
  runDir: '/var/run/tether',
} as const;

export const MESH = {
  adminPort: 15000,
  firstOutboundPort: 15001,
  maxOutbound: 5,
  firstInboundPort: 15006,
} as const;

/** The ConfigMap the CA publishes the trust bundle in, in every enabled namespace. */
export const BUNDLE_CONFIGMAP = 'tether-trust-bundle';
export const BUNDLE_KEY = 'bundle.pem';
/** Projected token lifetime; the kubelet refreshes it at 80 % of that. */
export const TOKEN_EXPIRATION_SECONDS = 3600;
/** The image's unprivileged user (deploy/compose/Dockerfile). */
export const SIDECAR_UID = 10001;
