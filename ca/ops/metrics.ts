// The CA's Prometheus metrics, on a registry of its own (no global state).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { Metric } from '../../common/telemetry.js';

export class CaMetrics {
  readonly registry = new Registry();
  readonly csr = new Counter({
    name: Metric.csrTotal,
    help: 'Certificate signing requests by result (issued or an error code) and attestor',
    labelNames: ['result', 'attestor'],
    registers: [this.registry],
  });
  readonly signSeconds = new Histogram({
    name: Metric.signSeconds,
    help: 'Time from receiving a CSR to a recorded certificate',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly caExpiry = new Gauge({
    name: Metric.caExpiry,
    help: 'notAfter of each CA certificate in use (unix seconds)',
    labelNames: ['kind', 'generation', 'state'],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: Metric.rateLimited,
    help: 'Requests refused by a rate limit or a source block',
    labelNames: ['limit'],
    registers: [this.registry],
  });
  readonly attestationFailures = new Counter({
    name: Metric.attestationFailures,
    help: 'Failed attestations by attestor',
    labelNames: ['attestor'],
    registers: [this.registry],
  });
  readonly blockedSources = new Gauge({
    name: Metric.blockedSources,
    help: 'Sources currently blocked after too many failed attestations',
    registers: [this.registry],
  });
  readonly bundleSequence = new Gauge({
    name: Metric.bundleSequence,
    help: 'Sequence number of the current trust bundle',
    registers: [this.registry],
  });
  readonly bundleWatchers = new Gauge({
    name: Metric.bundleWatchers,
    help: 'Open WatchTrustBundle streams',
    registers: [this.registry],
  });
  readonly rotations = new Counter({
    name: Metric.rotations,
    help: 'CA rotation steps applied',
    labelNames: ['step'],
    registers: [this.registry],
  });

  readonly tokens = new Counter({
    name: Metric.tokens,
    help: 'Token endpoint requests by result (issued or the OAuth error)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  readonly introspections = new Counter({
    name: Metric.introspections,
    help: 'Introspection requests by result (active, inactive or the OAuth error)',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'tether_ca_' });
  }
}
