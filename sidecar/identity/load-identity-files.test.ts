import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeP12, makeQtsp, type Qtsp, type Qwac } from '../../test/helpers/qwac.js';
import { loadIdentityFiles } from './load-identity-files.js';

let qtsp: Qtsp;
let a: Qwac;
let b: Qwac;
let now: number;

beforeAll(() => {
  qtsp = makeQtsp(mkdtempSync(path.join(tmpdir(), 'identity-files-')));
  a = qtsp.issue({ name: 'a', commonName: 'a.example', organizationId: 'PSDGB-FCA-1', roles: ['PSP_AI'] });
  b = qtsp.issue({ name: 'b', commonName: 'b.example' });
  now = Date.parse(new X509Certificate(a.certPem).validFrom) + 60_000;
});
afterAll(() => rmSync(qtsp.dir, { recursive: true, force: true }));

const serial = (q: Qwac) => new X509Certificate(q.certPem).serialNumber.toLowerCase();

describe('loadIdentityFiles', () => {
  it('loads a PEM pair and puts the leaf matching the key first, dropping a self-signed root', () => {
    const chain = path.join(qtsp.dir, 'root-first.pem');
    writeFileSync(chain, qtsp.rootPem + a.certPem);
    const svid = loadIdentityFiles({ certFile: chain, keyFile: a.keyFile }, now);
    expect(svid.serial).toBe(serial(a));
    expect(svid.chain).toHaveLength(1);
    expect(svid.spiffeId).toBe('');
  });

  it('loads a PKCS#12 file made by openssl, password read from a file without its newline', () => {
    const p12 = path.join(qtsp.dir, 'a.p12');
    makeP12(a, qtsp.rootFile, 's3cret', p12);
    const pass = path.join(qtsp.dir, 'a.pass');
    writeFileSync(pass, 's3cret\n');
    const svid = loadIdentityFiles({ p12File: p12, passwordFile: pass }, now);
    expect(svid.serial).toBe(serial(a));
    expect(svid.key.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('says the password is wrong for a PKCS#12 file opened with another password', () => {
    const p12 = path.join(qtsp.dir, 'a2.p12');
    makeP12(a, qtsp.rootFile, 'right', p12);
    const pass = path.join(qtsp.dir, 'wrong.pass');
    writeFileSync(pass, 'wrong');
    expect(() => loadIdentityFiles({ p12File: p12, passwordFile: pass }, now)).toThrow(/Invalid password/);
  });

  it('refuses a key that matches no certificate', () => {
    expect(() => loadIdentityFiles({ certFile: a.certFile, keyFile: b.keyFile }, now)).toThrow(
      'no certificate matches the private key',
    );
  });

  it('refuses a certificate outside its validity window', () => {
    expect(() =>
      loadIdentityFiles({ certFile: a.certFile, keyFile: a.keyFile }, now + 3 * 86_400_000),
    ).toThrow(/is outside its validity/);
  });
});
