import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { loadSidecarConfig } from './load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tether-ob-config-'));
let n = 0;
function load(yaml: string) {
  const file = path.join(dir, `c${++n}.yaml`);
  writeFileSync(file, yaml);
  return loadSidecarConfig(file);
}
function problems(yaml: string): string {
  try {
    load(yaml);
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

const bankInbound = [
  'inbound:',
  '  - name: ob',
  '    listen: 127.0.0.1:8443',
  '    forward: 127.0.0.1:8080',
  '    tls: { profile: fapi }',
  '    allow: { psd2Roles: [PSP_AI], paths: [{ prefix: /payments, psd2Roles: [PSP_PI] }] }',
].join('\n');

describe('open-banking sidecar config', () => {
  it('needs no ca or trustDomain when identity and trust come from files', () => {
    const c = load(
      `identity: { p12File: q.p12, passwordFile: q.pass }\ntrust: { bundleFile: qtsp.pem }\n${bankInbound}\n`,
    );
    expect(c.ca).toBeUndefined();
    expect(c.trustDomain).toBeUndefined();
    expect(c.identity).toEqual({ p12File: 'q.p12', passwordFile: 'q.pass' });
    expect(c.trustFile).toBe('qtsp.pem');
    expect(c.inbound[0]).toMatchObject({
      allow: [],
      psd2Allow: { psd2Roles: ['PSP_AI'], paths: [{ prefix: '/payments', psd2Roles: ['PSP_PI'] }] },
      tlsProfile: 'fapi',
      minTlsVersion: 'TLSv1.2',
    });
  });

  it('keeps TLS 1.3 only under fapi when minVersion says so', () => {
    const c = load(
      `identity: { certFile: c.pem, keyFile: k.pem }\ntrust: { bundleFile: t.pem }\n${bankInbound.replace('{ profile: fapi }', '{ profile: fapi, minVersion: "1.3" }')}\n`,
    );
    expect(c.inbound[0]?.minTlsVersion).toBe('TLSv1.3');
  });

  it('refuses listeners with neither a CA nor identity files, or without any trust', () => {
    const message = problems(`${bankInbound}\n`);
    expect(message).toMatch(/^ {2}ca: set ca \(the mesh CA\) or identity/m);
    expect(message).toMatch(/^ {2}inbound\.0\.trust: required without ca/m);
  });

  it('reads token clientId for introspection and for token requests', () => {
    const c = load(
      [
        'identity: { certFile: c.pem, keyFile: k.pem }',
        'trust: { bundleFile: t.pem }',
        'inbound:',
        '  - { name: ob, listen: 127.0.0.1:8443, forward: 127.0.0.1:8080, allow: { psd2Roles: [PSP_AI] }, token: { issuer: "https://as.example", audience: bank, mode: introspection, clientId: bank-rs } }',
        'outbound:',
        '  - { name: a, listen: 127.0.0.1:9001, upstream: x:1, serverName: bank.example, token: { issuer: "https://as.example", audience: bank, clientId: tpp-ai } }',
        '',
      ].join('\n'),
    );
    expect(c.inbound[0]?.token?.clientId).toBe('bank-rs');
    expect(c.outbound[0]?.token?.clientId).toBe('tpp-ai');
  });

  it('requires trustDomain with ca', () => {
    expect(problems(`ca: { address: 127.0.0.1:8443, bundleFile: b.pem }\n${bankInbound}\n`)).toMatch(
      /^ {2}trustDomain: required with ca/m,
    );
  });

  it('accepts per-listener identity and trust, and serverName or serverSpki instead of serverId', () => {
    const c = load(
      [
        'outbound:',
        '  - { name: a, listen: 127.0.0.1:9001, upstream: bank.example:443, serverName: bank.example, identity: { certFile: c.pem, keyFile: k.pem }, trust: { bundleFile: t.pem } }',
        `  - { name: b, listen: 127.0.0.1:9002, upstream: bank.example:443, serverSpki: "sha256:${'A'.repeat(43)}=", identity: { certFile: c.pem, keyFile: k.pem }, trust: { bundleFile: t.pem } }`,
        '',
      ].join('\n'),
    );
    expect(c.outbound[0]).toMatchObject({
      serverId: undefined,
      serverName: 'bank.example',
      trustFile: 't.pem',
    });
    expect(c.outbound[1]?.serverSpki).toBe(`${'A'.repeat(43)}=`);
  });

  it('refuses an outbound listener with both serverId and serverName, and one with neither', () => {
    const message = problems(
      [
        'identity: { certFile: c.pem, keyFile: k.pem }',
        'trust: { bundleFile: t.pem }',
        'outbound:',
        '  - { name: a, listen: 127.0.0.1:9001, upstream: x:1, serverId: spiffe://example.org/x, serverName: bank.example }',
        '  - { name: b, listen: 127.0.0.1:9002, upstream: x:1 }',
        '',
      ].join('\n'),
    );
    expect(message).toMatch(
      /^ {2}outbound\.0: set exactly one of serverId, or serverName and\/or serverSpki/m,
    );
    expect(message).toMatch(/^ {2}outbound\.1: set exactly one of/m);
  });

  it('refuses PSD2 path rules on a tcp listener', () => {
    expect(
      problems(
        `identity: { certFile: c.pem, keyFile: k.pem }\ntrust: { bundleFile: t.pem }\n${bankInbound}\n    protocol: tcp\n`,
      ),
    ).toMatch(/^ {2}inbound\.0\.allow\.paths: path rules need protocol: http/m);
  });

  it('names a bad PSD2 role and a malformed pin', () => {
    const message = problems(
      [
        'identity: { certFile: c.pem, keyFile: k.pem }',
        'trust: { bundleFile: t.pem }',
        'inbound:',
        '  - { name: ob, listen: 127.0.0.1:8443, forward: 127.0.0.1:8080, allow: { psd2Roles: [PSP_XX] } }',
        'outbound:',
        '  - { name: a, listen: 127.0.0.1:9001, upstream: x:1, serverSpki: "sha256:abc" }',
        '',
      ].join('\n'),
    );
    expect(message).toContain('expected PSP_AS, PSP_PI, PSP_AI, PSP_IC or an OID');
    expect(message).toContain('expected sha256:<base64 SHA-256 of the SubjectPublicKeyInfo>');
  });
});
