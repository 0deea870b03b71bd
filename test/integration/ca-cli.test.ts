// The `tether ca` commands end to end: init variants (key types, encrypted keys, upstream CA),
// refusal to overwrite, config errors before listening, restart durability, status and bundle.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { pickPort } from '../../common/free-port.js';
import { fromPem } from '../../common/pem.js';
import { initCa, removeDir, startCa, tempDir, tether, tetherOk, writeConfig } from '../helpers/ca-process.js';
import { enrollWithToken, opensslVerify } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

function scratch(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

const freePort = () => pickPort();

describe('tether ca init', () => {
  it('refuses to overwrite an existing CA', async () => {
    const dir = await initCa();
    dirs.push(path.dirname(dir));
    const again = await tether(['ca', 'init', '--data-dir', dir, '--trust-domain', 'example.org']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('refusing to overwrite');
  });

  it('rejects an invalid trust domain and an unknown key type', async () => {
    const bad = await tether([
      'ca',
      'init',
      '--data-dir',
      path.join(scratch(), 'x'),
      '--trust-domain',
      'Example.ORG',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('trust domain');
    const kt = await tether([
      'ca',
      'init',
      '--data-dir',
      path.join(scratch(), 'y'),
      '--trust-domain',
      'a.org',
      '--key-type',
      'dsa',
    ]);
    expect(kt.code).toBe(2);
    expect(kt.stderr).toContain('--key-type must be one of');
  });

  it.each([
    ['ecdsa-p384', 'secp384r1'],
    ['rsa-2048', 'rsaEncryption'],
  ])('creates a %s CA whose leaves verify', async (keyType, marker) => {
    const dir = await initCa('example.org', ['--key-type', keyType]);
    dirs.push(path.dirname(dir));
    const ca = await startCa({ dataDir: dir });
    try {
      const token = await tetherOk(['ca', 'token', 'create', '--data-dir', dir, '--spiffe-id', WEB]);
      const w = await enrollWithToken(ca.address, ca.bundlePem, token);
      const text = execFileSync('openssl', ['x509', '-noout', '-text'], {
        input: new X509Certificate(w.response.certChain[1]!).toString(),
      }).toString();
      expect(text).toContain(marker);
      expect(opensslVerify(w.response.certChain, ca.bundlePem, 'sslclient')).toContain('OK');
    } finally {
      await ca.stop();
    }
  });

  it('encrypts keys with a passphrase and will not serve without it', async () => {
    const env = { TETHER_TEST_PASSPHRASE: 'correct horse battery staple' };
    const dir = await initCa('example.org', ['--key-passphrase-env', 'TETHER_TEST_PASSPHRASE'], env);
    dirs.push(path.dirname(dir));
    for (const f of readdirSync(path.join(dir, 'keys'))) {
      expect(readFileSync(path.join(dir, 'keys', f), 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    }
    const without = await tether([
      'ca',
      'serve',
      '--data-dir',
      dir,
      '--listen',
      '127.0.0.1:0',
      '--metrics-listen',
      '127.0.0.1:0',
    ]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('encrypted');
    const wrong = await tether(
      [
        'ca',
        'serve',
        '--data-dir',
        dir,
        '--listen',
        '127.0.0.1:0',
        '--metrics-listen',
        '127.0.0.1:0',
        '--key-passphrase-env',
        'P',
      ],
      { P: 'wrong' },
    );
    expect(wrong.stderr).toContain('wrong passphrase');
    const ca = await startCa({ dataDir: dir, args: ['--key-passphrase-env', 'TETHER_TEST_PASSPHRASE'], env });
    try {
      const token = await tetherOk(['ca', 'token', 'create', '--data-dir', dir, '--spiffe-id', WEB]);
      await expect(enrollWithToken(ca.address, ca.bundlePem, token)).resolves.toBeTruthy();
      expect(ca.output()).not.toContain(env.TETHER_TEST_PASSPHRASE);
    } finally {
      await ca.stop();
    }
  });
});

describe('upstream CA', () => {
  it('signs under an operator-supplied intermediate and chains to the upstream root', async () => {
    const d = scratch();
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
    writeFileSync(
      path.join(d, 'ext.cnf'),
      '[ca]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n',
    );
    ssl([
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'root.key',
      '-out',
      'root.pem',
      '-subj',
      '/CN=Corp Root',
      '-days',
      '30',
      '-addext',
      'basicConstraints=critical,CA:true',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    ssl([
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'up.key',
      '-out',
      'up.csr',
      '-subj',
      '/CN=Corp Mesh Intermediate',
    ]);
    ssl([
      'x509',
      '-req',
      '-in',
      'up.csr',
      '-CA',
      'root.pem',
      '-CAkey',
      'root.key',
      '-CAcreateserial',
      '-out',
      'up.pem',
      '-days',
      '20',
      '-extfile',
      'ext.cnf',
      '-extensions',
      'ca',
    ]);
    const dir = path.join(d, 'ca');
    await tetherOk([
      'ca',
      'init',
      '--data-dir',
      dir,
      '--trust-domain',
      'example.org',
      '--upstream-cert',
      path.join(d, 'up.pem'),
      '--upstream-key',
      path.join(d, 'up.key'),
      '--upstream-bundle',
      path.join(d, 'root.pem'),
    ]);
    const ca = await startCa({ dataDir: dir });
    try {
      const rootPem = readFileSync(path.join(d, 'root.pem'), 'utf8');
      expect(fromPem(ca.bundlePem)[0]!.equals(fromPem(rootPem)[0]!)).toBe(true);
      const token = await tetherOk(['ca', 'token', 'create', '--data-dir', dir, '--spiffe-id', WEB]);
      const w = await enrollWithToken(ca.address, ca.bundlePem, token);
      expect(w.response.certChain).toHaveLength(3);
      expect(opensslVerify(w.response.certChain, rootPem, 'sslclient')).toContain('OK');
      const rotate = await tether(['ca', 'rotate', '--root', '--data-dir', dir]);
      expect(rotate.stderr).toContain('upstream');
    } finally {
      await ca.stop();
    }
  });

  it('refuses an upstream certificate that is not a CA', async () => {
    const d = scratch();
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        'k.pem',
        '-out',
        'c.pem',
        '-subj',
        '/CN=leaf',
        '-days',
        '3',
        '-addext',
        'basicConstraints=critical,CA:false',
      ],
      { cwd: d, stdio: 'pipe' },
    );
    const r = await tether([
      'ca',
      'init',
      '--data-dir',
      path.join(d, 'ca'),
      '--trust-domain',
      'example.org',
      '--upstream-cert',
      path.join(d, 'c.pem'),
      '--upstream-key',
      path.join(d, 'k.pem'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not a CA certificate');
  });
});

describe('tether ca serve configuration', () => {
  it('reports every config error with its key and exits 2 before listening', async () => {
    const dir = await initCa();
    dirs.push(path.dirname(dir));
    const port = await freePort();
    const config = writeConfig(
      path.dirname(dir),
      'ttl: { default: soon }\nlimits: { csrPerSecond: -1 }\nbogus: 1\n',
    );
    const r = await tether([
      'ca',
      'serve',
      '--data-dir',
      dir,
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ttl.default');
    expect(r.stderr).toContain('"soon"');
    expect(r.stderr).toContain('limits.csrPerSecond');
    expect(r.stderr).toContain('bogus');
    const conn = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(true)).on('error', () => resolve(false));
      s.unref();
    });
    expect(conn).toBe(false);
  });

  it('lets flags override the config file', async () => {
    const dir = await initCa();
    dirs.push(path.dirname(dir));
    const config = writeConfig(path.dirname(dir), 'ttl: { default: 2h, max: 3h }\n');
    const ca = await startCa({ dataDir: dir, config, args: ['--default-ttl', '20m'] });
    try {
      const token = await tetherOk(['ca', 'token', 'create', '--data-dir', dir, '--spiffe-id', WEB]);
      const requestedAt = Date.now();
      const w = await enrollWithToken(ca.address, ca.bundlePem, token);
      // notAfter = issuance time + TTL (notBefore is backdated for clock skew, so measure from now).
      const ttlMs = Date.parse(w.leaf.validTo) - requestedAt;
      expect(ttlMs).toBeGreaterThan(20 * 60_000 - 2_000);
      expect(ttlMs).toBeLessThan(21 * 60_000);
    } finally {
      await ca.stop();
    }
  });

  it('adds --dns-name to the serving certificate', async () => {
    const dir = await initCa();
    dirs.push(path.dirname(dir));
    const ca = await startCa({ dataDir: dir, args: ['--dns-name', 'ca.tether.svc'] });
    try {
      const pem = execFileSync(
        'openssl',
        ['s_client', '-connect', ca.address, '-servername', 'localhost', '-showcerts'],
        { input: '', stdio: ['pipe', 'pipe', 'ignore'] },
      ).toString();
      const serving = new X509Certificate(fromPem(pem)[0]!);
      expect(serving.subjectAltName).toContain('DNS:ca.tether.svc');
      expect(serving.subjectAltName).toContain('DNS:localhost');
      expect(serving.subjectAltName).toContain('IP Address:127.0.0.1');
      expect(serving.subjectAltName).toContain('URI:spiffe://example.org/tether/ca');
    } finally {
      await ca.stop();
    }
  });
});

describe('restart', () => {
  it('keeps the same root, intermediate and unused tokens across a restart', async () => {
    const dir = await initCa();
    dirs.push(path.dirname(dir));
    let ca = await startCa({ dataDir: dir });
    const token = await tetherOk([
      'ca',
      'token',
      'create',
      '--data-dir',
      dir,
      '--spiffe-id',
      WEB,
      '--uses',
      '2',
    ]);
    const first = await enrollWithToken(ca.address, ca.bundlePem, token);
    const bundle = ca.bundlePem;
    expect(await ca.stop()).toBe(0);
    ca = await startCa({ dataDir: dir });
    try {
      expect(ca.bundlePem).toBe(bundle);
      const second = await enrollWithToken(ca.address, ca.bundlePem, token);
      expect(second.response.certChain[1]!.equals(first.response.certChain[1]!)).toBe(true);
      await expect(enrollWithToken(ca.address, ca.bundlePem, token)).rejects.toMatchObject({
        code: grpcStatus.UNAUTHENTICATED,
      });
      const report = JSON.parse(await tetherOk(['ca', 'status', '--data-dir', dir, '--json']));
      expect(report.trustDomain).toBe('example.org');
      expect(report.issued.total).toBeGreaterThanOrEqual(2);
      expect(report.generations.map((g: { kind: string }) => g.kind).sort()).toEqual([
        'intermediate',
        'root',
      ]);
      expect(report.generations[0].sha256).toMatch(/^[0-9a-f]{64}$/);
      const text = await tetherOk(['ca', 'status', '--data-dir', dir]);
      expect(text).toContain('trust domain:     example.org');
    } finally {
      await ca.stop();
    }
  });
});
