// Every CA setting's default and meaning, in one annotated place. docs/config-ca.md is
// generated from this table (scripts/gen-config-doc.ts), so the doc cannot drift from the code.

export interface SettingDoc {
  readonly key: string;
  readonly default: string;
  readonly flag?: string;
  readonly description: string;
}

export const CA_SETTINGS: readonly SettingDoc[] = [
  {
    key: 'dataDir',
    default: '(required)',
    flag: '--data-dir',
    description: 'Directory holding the store (tether.db) and CA keys (keys/).',
  },
  {
    key: 'listen',
    default: '127.0.0.1:8443',
    flag: '--listen',
    description: 'gRPC (TLS) address of tether.ca.v1.CertificateAuthority.',
  },
  {
    key: 'metricsListen',
    default: '127.0.0.1:9090',
    flag: '--metrics-listen',
    description: 'HTTP address for /healthz, /readyz and /metrics.',
  },
  {
    key: 'dnsNames',
    default: '[]',
    flag: '--dns-name',
    description:
      "Extra DNS names for the CA's serving certificate (localhost, 127.0.0.1, ::1 and the host name are always included).",
  },
  {
    key: 'ttl.default',
    default: '1h',
    flag: '--default-ttl',
    description: 'Leaf lifetime when a request asks for 0.',
  },
  {
    key: 'ttl.max',
    default: '24h',
    flag: '--max-ttl',
    description: 'Longest leaf lifetime; longer requests are clamped. The minimum is fixed at 10s.',
  },
  {
    key: 'ttl.serving',
    default: '24h',
    description: "Lifetime of the CA's own serving certificate (reissued at half-life).",
  },
  {
    key: 'rotation.intermediateTtl',
    default: '7d',
    description:
      'Lifetime of each intermediate signing CA. The next is prepared at ½ and activated at ⅚ of its life; keep ⅙ of it ≥ ttl.max.',
  },
  {
    key: 'rotation.rootTtl',
    default: '3650d',
    description:
      'Lifetime of a new self-signed root (set at init and root rotation). A root in its last sixth rotates itself.',
  },
  {
    key: 'rotation.rootPropagation',
    default: '1h',
    description: 'How long a new root sits in the bundle before signing moves under it.',
  },
  {
    key: 'rotation.checkInterval',
    default: '1s',
    description: 'How often the CA checks its rotation schedule and the store for changes made by the CLI.',
  },
  {
    key: 'limits.csrPerSecond',
    default: '5000',
    description: 'Global sustained CSR rate; beyond it callers get RESOURCE_EXHAUSTED.',
  },
  { key: 'limits.csrBurst', default: '10000', description: 'Burst allowance of the global CSR rate.' },
  {
    key: 'limits.failures.max',
    default: '100',
    description:
      'Failed attestations from one source (or with one credential) within the window that block it.',
  },
  {
    key: 'limits.failures.window',
    default: '60s',
    description: 'Sliding window for counting failed attestations.',
  },
  {
    key: 'limits.failures.block',
    default: '5m',
    description: 'How long a blocked source or credential stays blocked.',
  },
  {
    key: 'limits.maxCsrBytes',
    default: '16384',
    description: 'Largest CSR accepted (INVALID_ARGUMENT beyond).',
  },
  {
    key: 'limits.maxMessageBytes',
    default: '65536',
    description: 'Largest gRPC message accepted (RESOURCE_EXHAUSTED beyond).',
  },
  {
    key: 'keys.passphraseEnv',
    default: '(none)',
    flag: '--key-passphrase-env',
    description: 'Environment variable holding the passphrase that encrypts CA keys at rest.',
  },
  {
    key: 'keys.passphraseFile',
    default: '(none)',
    flag: '--key-passphrase-file',
    description: 'File whose first line is the CA key passphrase.',
  },
  {
    key: 'oauth.listen',
    default: '(none)',
    flag: '--token-listen',
    description:
      'HTTPS address of the OAuth 2.0 token endpoint (RFC 8705 certificate-bound tokens); the token server starts only when this is set.',
  },
  {
    key: 'oauth.issuer',
    default: '(none)',
    flag: '--issuer',
    description:
      'The `iss` of issued tokens and the base of every endpoint URL in the metadata; default `https://<bound oauth.listen address>`.',
  },
  { key: 'oauth.tokenTtl', default: '15m', description: 'Lifetime of an issued access token.' },
  {
    key: 'oauth.signingKeyTtl',
    default: '24h',
    description:
      'How long one token signing key signs before the next (published in the JWKS since the last rotation) takes over. Retired keys stay published until their tokens have expired.',
  },
  {
    key: 'oauth.policies',
    default: '[]',
    description:
      'Which clients (exact SPIFFE IDs or prefixes ending in `/*`) may get which `scopes` for which `audience`. Default deny; see README "Tokens".',
  },
  {
    key: 'kubernetes.issuer',
    default: '(none)',
    flag: '--k8s-issuer',
    description:
      "Enables Kubernetes attestation with offline verification: the `iss` service-account tokens must carry (the cluster's `--service-account-issuer`). Keys come from its OIDC discovery document and `jwks_uri`, or from `kubernetes.jwksFile`.",
  },
  {
    key: 'kubernetes.jwksFile',
    default: '(none)',
    flag: '--k8s-jwks-file',
    description:
      "Air-gapped clusters: a JWKS file with the issuer's public keys (`kubectl get --raw /openid/v1/jwks`), used instead of discovery; re-read when it changes.",
  },
  {
    key: 'kubernetes.issuerCaFile',
    default: '(system roots)',
    description:
      "PEM roots that verify the issuer's HTTPS certificate for discovery (in a cluster: the service account's `ca.crt`).",
  },
  {
    key: 'kubernetes.tokenReview',
    default: 'false',
    description:
      'Enables Kubernetes attestation through the TokenReview API instead (in cluster, or with `KUBECONFIG`); the API server also checks that the bound pod still exists.',
  },
  {
    key: 'kubernetes.audience',
    default: 'tether-ca',
    description: 'The audience projected tokens must be issued for.',
  },
  {
    key: 'kubernetes.allowNamespaces',
    default: '[]',
    flag: '--k8s-allow-namespaces',
    description:
      'Namespaces whose service accounts may obtain `spiffe://<td>/ns/<ns>/sa/<sa>` identities (flag: comma-separated). Empty: every namespace, as in Istio and Linkerd.',
  },
  {
    key: 'kubernetes.publishBundle',
    default: 'false',
    description:
      'Keep a `tether-trust-bundle` ConfigMap up to date in every namespace labelled `tether.io/inject=enabled` (needs Kubernetes API access; see deploy/kubernetes).',
  },
  {
    key: 'kubernetes.injector.listen',
    default: '(none)',
    flag: '--injector-listen',
    description:
      'HTTPS address of the sidecar-injection webhook (`POST /inject`, AdmissionReview v1); it starts only when this is set. `:8445` means all interfaces.',
  },
  {
    key: 'kubernetes.injector.image',
    default: 'tether:latest',
    description: 'Container image of the injected sidecar.',
  },
  {
    key: 'kubernetes.injector.caAddress',
    default: 'tether-ca.tether-system.svc:8443',
    description: "The CA's gRPC address as injected sidecars reach it.",
  },
  {
    key: 'kubernetes.injector.nativeSidecar',
    default: 'true',
    description:
      'Inject a native sidecar (init container with `restartPolicy: Always`, Kubernetes ≥ 1.29); `false` injects a regular container for older clusters.',
  },
  {
    key: 'kubernetes.injector.webhookConfiguration',
    default: 'tether-injector',
    description:
      "The MutatingWebhookConfiguration whose webhooks' `caBundle` the CA keeps equal to the trust bundle (when both `kubernetes.publishBundle` and `kubernetes.injector.listen` are set).",
  },
  {
    key: 'log.level',
    default: 'info',
    flag: '--log-level',
    description: 'pino log level (trace, debug, info, warn, error, fatal).',
  },
];
