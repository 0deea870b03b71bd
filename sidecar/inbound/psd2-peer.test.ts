import { describe, expect, it } from 'vitest';
import type { CertificateFacts } from '../psd2/certificate-facts.js';
import { psd2Headers, psd2PeerOf } from './psd2-peer.js';

const facts = (o: Partial<CertificateFacts>): CertificateFacts => ({
  organizationId: undefined,
  qcCompliance: true,
  qcTypes: ['web'],
  psd2Roles: [],
  ncaName: undefined,
  ncaId: undefined,
  ...o,
});

describe('psd2Headers', () => {
  it('carries organization, comma-separated roles and NCA id', () => {
    expect(
      psd2Headers(facts({ organizationId: 'PSDGB-FCA-1', psd2Roles: ['PSP_AI', 'PSP_PI'], ncaId: 'GB-FCA' })),
    ).toEqual({
      'x-tether-org-id': 'PSDGB-FCA-1',
      'x-tether-psd2-roles': 'PSP_AI,PSP_PI',
      'x-tether-nca': 'GB-FCA',
    });
  });

  it('omits facts the certificate does not have', () => {
    expect(psd2Headers(facts({}))).toEqual({});
  });

  it('percent-encodes values that are not printable ASCII, so no CR/LF can reach a header', () => {
    expect(psd2Headers(facts({ organizationId: 'PSDDE-BAF-Ü\r\nx: y' }))['x-tether-org-id']).toBe(
      'PSDDE-BAF-%C3%9C%0D%0Ax%3A%20y',
    );
  });
});

describe('psd2PeerOf', () => {
  it('reports malformed_qc_statements for bytes that are not a certificate', () => {
    expect(psd2PeerOf(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]))).toEqual({
      error: 'malformed_qc_statements',
    });
  });
});
