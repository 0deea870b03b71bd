import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQtsp, type Qtsp, type Qwac } from '../../test/helpers/qwac.js';
import { serverCheckFor, spkiSha256, webServerCheck } from './verify-server.js';

let qtsp: Qtsp;
let bank: Qwac;
let other: Qwac;

beforeAll(() => {
  qtsp = makeQtsp(mkdtempSync(path.join(tmpdir(), 'verify-web-')));
  bank = qtsp.issue({
    name: 'bank',
    commonName: 'bank.example',
    dnsNames: ['bank.example', '*.api.bank.example'],
  });
  other = qtsp.issue({ name: 'other', commonName: 'other.example', dnsNames: ['other.example'] });
});
afterAll(() => rmSync(qtsp.dir, { recursive: true, force: true }));

/** The PeerCertificate fields Node's checkServerIdentity reads, from a real certificate. */
function peer(q: Qwac): tls.PeerCertificate {
  const x = new X509Certificate(q.certPem);
  return {
    raw: x.raw,
    subjectaltname: x.subjectAltName,
    subject: { CN: q.subject.split(',')[0]!.slice(3) },
  } as never;
}

describe('webServerCheck', () => {
  it('accepts a certificate valid for serverName, including by wildcard, and refuses another name', () => {
    expect(webServerCheck('bank.example', undefined)('127.0.0.1', peer(bank))).toBeUndefined();
    expect(webServerCheck('eu.api.bank.example', undefined)('127.0.0.1', peer(bank))).toBeUndefined();
    const err = webServerCheck('bank.example', undefined)('127.0.0.1', peer(other)) as Error & {
      code?: string;
    };
    expect(err.message).toContain('upstream certificate is not valid for bank.example');
    expect(err.code).toBe('ERR_TETHER_WRONG_SERVER_ID');
  });

  it('pins the SubjectPublicKeyInfo hash exactly as openssl computes it', () => {
    const fromOpenssl = execFileSync(
      'sh',
      [
        '-c',
        `openssl x509 -in ${bank.certFile} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
      ],
      { encoding: 'utf8' },
    ).trim();
    expect(spkiSha256(new X509Certificate(bank.certPem).raw)).toBe(fromOpenssl);
    expect(webServerCheck(undefined, fromOpenssl)('h', peer(bank))).toBeUndefined();
    expect(webServerCheck(undefined, fromOpenssl)('h', peer(other))?.message).toContain(
      'does not match the pinned serverSpki',
    );
  });

  it('requires both the name and the pin when both are configured', () => {
    const pin = spkiSha256(new X509Certificate(bank.certPem).raw);
    expect(webServerCheck('other.example', pin)('h', peer(bank))?.message).toContain(
      'not valid for other.example',
    );
  });
});

describe('serverCheckFor', () => {
  it('checks the SPIFFE ID when serverId is set, ignoring DNS names', () => {
    const check = serverCheckFor({
      serverId: 'spiffe://example.org/x',
      serverName: undefined,
      serverSpki: undefined,
    });
    expect(check('bank.example', peer(bank))?.message).toContain('expected spiffe://example.org/x');
  });
});
