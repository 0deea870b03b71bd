// Metric names and log field names shared by the CA and the sidecar, in one place so that
// dashboards and log queries do not drift between components.

export const Metric = {
  csrTotal: 'tether_ca_csr_total',
  signSeconds: 'tether_ca_sign_duration_seconds',
  caExpiry: 'tether_ca_certificate_expiry_timestamp_seconds',
  rateLimited: 'tether_ca_rate_limited_total',
  attestationFailures: 'tether_ca_attestation_failures_total',
  blockedSources: 'tether_ca_blocked_sources',
  bundleSequence: 'tether_ca_bundle_sequence',
  bundleWatchers: 'tether_ca_bundle_watchers',
  rotations: 'tether_ca_rotations_total',
  tokens: 'tether_ca_tokens_total',
  introspections: 'tether_ca_token_introspections_total',
} as const;

export const LogField = {
  serial: 'serial',
  spiffeId: 'spiffeId',
  notAfter: 'notAfter',
  attestor: 'attestor',
  peer: 'peer',
  code: 'code',
  generation: 'generation',
} as const;
