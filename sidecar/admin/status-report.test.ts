import { describe, expect, it } from 'vitest';
import {
  buildSidecarStatus,
  type CertsDocument,
  formatSidecarStatus,
  parseMetrics,
} from './status-report.js';

const METRICS = `# HELP tether_sidecar_handshakes_total mTLS handshakes
# TYPE tether_sidecar_handshakes_total counter
tether_sidecar_handshakes_total{direction="inbound",listener="orders",result="ok",reason=""} 3
tether_sidecar_handshakes_total{direction="inbound",listener="orders",result="refused",reason="peer_not_allowed"} 2
tether_sidecar_handshakes_total{direction="inbound",listener="orders",result="refused",reason="no_client_cert"} 1
tether_sidecar_handshakes_total{direction="outbound",listener="orders",result="failed",reason="econnrefused"} 4
tether_sidecar_active_connections{direction="inbound",listener="orders"} 1
tether_sidecar_request_duration_seconds_count{direction="inbound",listener="orders",status="2xx"} 5
tether_sidecar_request_duration_seconds_count{direction="inbound",listener="orders",status="5xx"} 1
tether_sidecar_renewals_total{result="renewed"} 7
`;

const CERTS: CertsDocument = {
  ready: true,
  spiffeId: 'spiffe://example.org/ns/shop/sa/orders',
  serial: 'abcd',
  sha256: 'f'.repeat(64),
  notAfter: '2030-01-01T01:00:00.000Z',
  bundleSequence: 2,
  bundleRoots: 1,
  listeners: [
    {
      name: 'orders',
      direction: 'inbound',
      listen: '0.0.0.0:15006',
      port: 15006,
      protocol: 'http',
      target: '127.0.0.1:8080',
    },
    {
      name: 'orders',
      direction: 'outbound',
      listen: '127.0.0.1:0',
      port: 40001,
      protocol: 'tcp',
      target: '10.0.0.2:15006',
    },
  ],
};

describe('parseMetrics', () => {
  it('reads names, labels (with escapes) and values, skipping comments', () => {
    const samples = parseMetrics(`# HELP x y\nx_total{a="q\\"uote",b="2"} 1.5\ny 3\n`);
    expect(samples).toEqual([
      { name: 'x_total', labels: { a: 'q"uote', b: '2' }, value: 1.5 },
      { name: 'y', labels: {}, value: 3 },
    ]);
  });
});

describe('buildSidecarStatus', () => {
  it('sums counters per listener and direction, so same-named listeners stay apart', () => {
    const s = buildSidecarStatus(CERTS, METRICS);
    expect(s.listeners[0]).toMatchObject({
      handshakesOk: 3,
      handshakesRefused: 3,
      handshakesFailed: 0,
      activeConnections: 1,
      requests: 6,
    });
    expect(s.listeners[1]).toMatchObject({
      handshakesOk: 0,
      handshakesRefused: 0,
      handshakesFailed: 4,
      requests: 0,
    });
    expect(s.renewals).toEqual({ renewed: 7, failed: 0 });
  });

  it('formats identity, time left and one row per listener', () => {
    const text = formatSidecarStatus(buildSidecarStatus(CERTS, METRICS), Date.parse('2030-01-01T00:30:00Z'));
    expect(text).toContain('identity:       spiffe://example.org/ns/shop/sa/orders');
    expect(text).toContain('expires:        2030-01-01T01:00:00Z (30m 0s left)');
    expect(text).toMatch(
      /^inbound\s+orders\s+http\s+0\.0\.0\.0:15006\s+15006\s+127\.0\.0\.1:8080\s+3\s+3\s+0\s+1\s+6$/m,
    );
    expect(text).toMatch(/^outbound\s+orders\s+tcp\s+.*\s+0\s+0\s+4\s+0\s+-$/m);
  });

  it('copes with a sidecar that reports no listeners (older versions, or not yet bound)', () => {
    const { listeners: _, ...old } = CERTS;
    expect(formatSidecarStatus(buildSidecarStatus(old, ''), 0)).toContain('no listeners bound');
  });
});
