import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeQtsp, type Qtsp } from '../../test/helpers/qwac.js';
import { certificateFacts } from './certificate-facts.js';

const der = (pem: string) => new X509Certificate(pem).raw;
let qtsp: Qtsp;

beforeAll(() => {
  qtsp = makeQtsp(mkdtempSync(path.join(os.tmpdir(), 'psd2-facts-')));
});

describe('certificateFacts', () => {
  it('reads organizationIdentifier, QcCompliance, QcType web and the PSD2 roles and NCA of an openssl-made QWAC', () => {
    const q = qtsp.issue({
      name: 'ai',
      commonName: 'TPP AI',
      organizationId: 'PSDGB-FCA-111111',
      roles: ['PSP_AI', 'PSP_PI'],
    });
    expect(certificateFacts(der(q.certPem))).toEqual({
      organizationId: 'PSDGB-FCA-111111',
      qcCompliance: true,
      qcTypes: ['web'],
      psd2Roles: ['PSP_AI', 'PSP_PI'],
      ncaName: 'Financial Conduct Authority',
      ncaId: 'GB-FCA',
    });
  });

  it('reports a certificate with only PSP_PI as holding exactly that role', () => {
    const q = qtsp.issue({
      name: 'pi',
      commonName: 'TPP PI',
      organizationId: 'PSDGB-FCA-222222',
      roles: ['PSP_PI'],
    });
    expect(certificateFacts(der(q.certPem)).psd2Roles).toEqual(['PSP_PI']);
  });

  it('reports no qualified facts for a certificate without QCStatements', () => {
    const facts = certificateFacts(der(qtsp.rootPem));
    expect(facts).toMatchObject({
      organizationId: undefined,
      qcCompliance: false,
      psd2Roles: [],
      ncaId: undefined,
    });
  });

  it('throws on a PSD2 statement whose body is not a PSD2QcType', () => {
    const dir = qtsp.dir;
    writeFileSync(
      path.join(dir, 'bad.ext'),
      '[leaf]\n1.3.6.1.5.5.7.1.3 = ASN1:SEQUENCE:qcs\n[qcs]\npsd2 = SEQUENCE:st\n[st]\nid = OID:0.4.0.19495.2\ninfo = INTEGER:7\n',
    );
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    run([
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'bad.key',
      '-out',
      'bad.csr',
      '-subj',
      '/CN=bad',
    ]);
    run([
      'x509',
      '-req',
      '-in',
      'bad.csr',
      '-CA',
      'qtsp.pem',
      '-CAkey',
      'qtsp.key',
      '-set_serial',
      '77',
      '-days',
      '1',
      '-extfile',
      'bad.ext',
      '-extensions',
      'leaf',
      '-out',
      'bad.pem',
    ]);
    expect(() => certificateFacts(der(readFileSync(path.join(dir, 'bad.pem'), 'utf8')))).toThrow();
  });
});
