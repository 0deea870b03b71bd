// The sidecar's Prometheus metrics on a registry of its own.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly handshakes = new Counter({
    name: 'tether_sidecar_handshakes_total',
    help: 'mTLS handshakes by direction, listener, result and reason',
    labelNames: ['direction', 'listener', 'result', 'reason'],
    registers: [this.registry],
  });
  readonly activeConnections = new Gauge({
    name: 'tether_sidecar_active_connections',
    help: 'Open connections by direction and listener',
    labelNames: ['direction', 'listener'],
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'tether_sidecar_bytes_total',
    help: 'Bytes proxied by direction, listener and flow (rx from the client side, tx to it)',
    labelNames: ['direction', 'listener', 'flow'],
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: 'tether_sidecar_request_duration_seconds',
    help: 'HTTP request latency through the sidecar, by direction, listener and status class',
    labelNames: ['direction', 'listener', 'status'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly renewals = new Counter({
    name: 'tether_sidecar_renewals_total',
    help: 'Certificate attestations and renewals by result',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly certExpiry = new Gauge({
    name: 'tether_sidecar_cert_expiry_timestamp_seconds',
    help: "notAfter of the sidecar's current certificate (unix seconds)",
    registers: [this.registry],
  });
  readonly bundleSequence = new Gauge({
    name: 'tether_sidecar_bundle_sequence',
    help: 'Sequence number of the trust bundle in use (0 until the CA stream reports it)',
    registers: [this.registry],
  });
  readonly authzDenied = new Counter({
    name: 'tether_sidecar_authz_denied_total',
    help: 'Connections or requests refused because the peer SPIFFE ID is not allowed',
    labelNames: ['listener', 'reason'],
    registers: [this.registry],
  });
  readonly tokenRejected = new Counter({
    name: 'tether_sidecar_token_rejected_total',
    help: 'Inbound requests refused by the bearer token check, by listener and reason',
    labelNames: ['listener', 'reason'],
    registers: [this.registry],
  });
  readonly tokenRequests = new Counter({
    name: 'tether_sidecar_token_requests_total',
    help: 'Access token requests to the authorization server by outbound listener and result',
    labelNames: ['listener', 'result'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tether_sidecar_' });
  }
}
