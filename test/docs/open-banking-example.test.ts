// Keeps deploy/open-banking honest: its sidecar configs load, and make-certs.sh produces QWACs
// whose organizationIdentifier and PSD2 roles the sidecar reads as the README says.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSidecarConfig } from '../../sidecar/config/load.js';
import { certificateFacts } from '../../sidecar/psd2/certificate-facts.js';
import { REPO_ROOT } from '../helpers/ca-process.js';

const example = path.join(REPO_ROOT, 'deploy/open-banking');
const work = mkdtempSync(path.join(tmpdir(), 'tether-ob-example-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('deploy/open-banking', () => {
  it('has bank and TPP configs that load: fapi, PSD2 rules, per-listener PKCS#12 and PEM identities', () => {
    const bank = loadSidecarConfig(path.join(example, 'bank.yaml'));
    expect(bank.ca).toBeUndefined();
    expect(bank.inbound[0]).toMatchObject({
      tlsProfile: 'fapi',
      minTlsVersion: 'TLSv1.2',
      psd2Allow: { psd2Roles: ['PSP_AI'], paths: [{ prefix: '/payments', psd2Roles: ['PSP_PI'] }] },
    });
    const tpp = loadSidecarConfig(path.join(example, 'tpp.yaml'));
    expect(tpp.outbound.map((o) => [o.serverName, o.token?.clientId, Object.keys(o.identity ?? {})])).toEqual(
      [
        ['bank.example', 'tpp-ai', ['p12File', 'passwordFile']],
        ['bank.example', 'tpp-pi', ['certFile', 'keyFile']],
      ],
    );
  });

  it('make-certs.sh makes QWACs with the organization and PSD2 role the README shows', () => {
    cpSync(path.join(example, 'make-certs.sh'), path.join(work, 'make-certs.sh'));
    execFileSync('sh', [path.join(work, 'make-certs.sh')], { stdio: 'pipe' });
    const facts = (name: string) =>
      certificateFacts(new X509Certificate(readFileSync(path.join(work, 'certs', `${name}.pem`))).raw);
    expect(facts('tpp-ai')).toMatchObject({
      organizationId: 'PSDGB-FCA-111111',
      psd2Roles: ['PSP_AI'],
      ncaId: 'GB-FCA',
    });
    expect(facts('tpp-pi')).toMatchObject({ organizationId: 'PSDGB-FCA-222222', psd2Roles: ['PSP_PI'] });
    expect(facts('bank').psd2Roles).toEqual(['PSP_AS']);
    expect(readFileSync(path.join(work, 'certs', 'subjects.txt'), 'utf8')).toContain(
      'tpp-ai=CN=tpp-ai.example,organizationIdentifier=PSDGB-FCA-111111,O=tpp-ai.example Ltd,C=GB',
    );
  }, 30_000);
});
