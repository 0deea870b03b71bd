// The real `tether ca serve` process: join-token issuance, renewal over mTLS, the deny list,
// TTL policy, bundle streaming, and what lands on disk and in the logs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSans } from '../../common/x509.js';
import { buildCsr } from '../../sidecar/identity/csr.js';
import { caClient, signCertificate } from '../helpers/ca-client.js';
import { type CaProcess, initCa, removeDir, startCa, tetherOk } from '../helpers/ca-process.js';
import { enrollWithToken, newKey, opensslVerify, renew, type Workload } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
let ca: CaProcess;
let dataDir: string;
const tokensSeen: string[] = [];

async function newToken(id = WEB, extra: string[] = []): Promise<string> {
  const token = await tetherOk(['ca', 'token', 'create', '--data-dir', dataDir, '--spiffe-id', id, ...extra]);
  tokensSeen.push(token);
  return token;
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name));
}

beforeAll(async () => {
  dataDir = await initCa();
  ca = await startCa({ dataDir });
});

afterAll(async () => {
  await ca?.stop();
  removeDir(path.dirname(dataDir));
});

describe('issuance with a join token', () => {
  let w: Workload;

  it('issues an X.509-SVID for the token identity that openssl verifies for client and server use', async () => {
    w = await enrollWithToken(ca.address, ca.bundlePem, await newToken());
    expect(w.response.spiffeId).toBe(WEB);
    expect(w.response.certChain).toHaveLength(2);
    expect(w.response.trustBundle).toHaveLength(1);
    expect(readSans(w.response.certChain[0]!).uris).toEqual([WEB]);
    expect(opensslVerify(w.response.certChain, ca.bundlePem, 'sslclient')).toContain('OK');
    expect(opensslVerify(w.response.certChain, ca.bundlePem, 'sslserver')).toContain('OK');
  });

  it('sets notAfter to the default 1 h TTL and backdates notBefore by 5 min', () => {
    const nb = Date.parse(w.leaf.validFrom);
    const na = Date.parse(w.leaf.validTo);
    expect(na - nb).toBeGreaterThanOrEqual(3600_000 + 299_000);
    expect(na - nb).toBeLessThanOrEqual(3600_000 + 302_000);
    expect(Number(w.response.expiresAtUnix)).toBe(Math.floor(na / 1000));
  });

  it('refuses a single-use token the second time with UNAUTHENTICATED', async () => {
    const token = await newToken();
    await enrollWithToken(ca.address, ca.bundlePem, token);
    await expect(enrollWithToken(ca.address, ca.bundlePem, token)).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });

  it('honours --uses for multi-use tokens', async () => {
    const token = await newToken(WEB, ['--uses', '2']);
    await enrollWithToken(ca.address, ca.bundlePem, token);
    await enrollWithToken(ca.address, ca.bundlePem, token);
    await expect(enrollWithToken(ca.address, ca.bundlePem, token)).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });

  it('refuses a revoked token', async () => {
    const token = await newToken();
    const list = JSON.parse(await tetherOk(['ca', 'token', 'list', '--data-dir', dataDir, '--json'])) as {
      id: string;
      state: string;
    }[];
    const id = list.at(-1)!.id;
    await tetherOk(['ca', 'token', 'revoke', id, '--data-dir', dataDir]);
    await expect(enrollWithToken(ca.address, ca.bundlePem, token)).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });

  it('issues DNS SANs only when the token allows them', async () => {
    const token = await newToken(WEB, ['--dns-name', 'web.shop.svc']);
    const ok = await enrollWithToken(ca.address, ca.bundlePem, token, {
      csr: { dnsNames: ['web.shop.svc'] },
    });
    expect(readSans(ok.response.certChain[0]!).dnsNames).toEqual(['web.shop.svc']);
    const other = await newToken(WEB, ['--dns-name', 'web.shop.svc']);
    await expect(
      enrollWithToken(ca.address, ca.bundlePem, other, { csr: { dnsNames: ['evil.example'] } }),
    ).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
    });
  });
});

describe('TTL policy', () => {
  it('issues exactly the requested TTL when within bounds', async () => {
    const w = await enrollWithToken(ca.address, ca.bundlePem, await newToken(), { ttlSeconds: 30 });
    expect(Date.parse(w.leaf.validTo) - Date.parse(w.leaf.validFrom)).toBeLessThanOrEqual(30_000 + 302_000);
  });

  it('clamps a TTL above the maximum to 24 h', async () => {
    const w = await enrollWithToken(ca.address, ca.bundlePem, await newToken(), { ttlSeconds: 7 * 86400 });
    const lifetime = Date.parse(w.leaf.validTo) - Date.parse(w.leaf.validFrom);
    expect(lifetime).toBeLessThanOrEqual(86400_000 + 302_000);
    expect(lifetime).toBeGreaterThan(86400_000);
  });

  it('refuses a TTL below 10 s with INVALID_ARGUMENT', async () => {
    await expect(
      enrollWithToken(ca.address, ca.bundlePem, await newToken(), { ttlSeconds: 5 }),
    ).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('minimum'),
    });
  });
});

describe('renewal over mTLS', () => {
  it('renews the same identity with a new serial when the current certificate is presented', async () => {
    const first = await enrollWithToken(ca.address, ca.bundlePem, await newToken());
    const second = await renew(ca.address, ca.bundlePem, first);
    expect(second.response.spiffeId).toBe(WEB);
    expect(second.leaf.serialNumber).not.toBe(first.leaf.serialNumber);
    const third = await renew(ca.address, ca.bundlePem, second);
    expect(third.response.spiffeId).toBe(WEB);
  });

  it('refuses a request with neither credential nor client certificate (UNAUTHENTICATED)', async () => {
    const client = caClient(ca.address, ca.bundlePem);
    await expect(signCertificate(client, { csr: buildCsr(newKey()) })).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringContaining('no credential'),
    });
    client.close();
  });
});

describe('deny list on a running CA', () => {
  it('refuses a denied identity at once, for tokens and renewals, and allows it again after removal', async () => {
    const id = 'spiffe://example.org/ns/shop/sa/denied';
    const before = await enrollWithToken(ca.address, ca.bundlePem, await newToken(id));
    await tetherOk([
      'ca',
      'deny',
      'add',
      '--data-dir',
      dataDir,
      '--spiffe-id',
      id,
      '--reason',
      'compromised',
    ]);
    await expect(enrollWithToken(ca.address, ca.bundlePem, await newToken(id))).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining('deny list'),
    });
    await expect(renew(ca.address, ca.bundlePem, before)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    await tetherOk(['ca', 'deny', 'remove', '--data-dir', dataDir, '--spiffe-id', id]);
    await expect(renew(ca.address, ca.bundlePem, before)).resolves.toMatchObject({
      response: { spiffeId: id },
    });
  });

  it('refuses renewal with a denied serial but not with another certificate of the same identity', async () => {
    const a = await enrollWithToken(ca.address, ca.bundlePem, await newToken());
    const b = await enrollWithToken(ca.address, ca.bundlePem, await newToken());
    await tetherOk(['ca', 'deny', 'add', '--data-dir', dataDir, '--serial', a.leaf.serialNumber]);
    await expect(renew(ca.address, ca.bundlePem, a)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    await expect(renew(ca.address, ca.bundlePem, b)).resolves.toBeTruthy();
  });
});

describe('state on disk and in logs', () => {
  it('keeps private keys PKCS#8 with mode 0600 and the data dir 0700', () => {
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    const keys = files(path.join(dataDir, 'keys'));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const k of keys) {
      expect(statSync(k).mode & 0o777).toBe(0o600);
      expect(readFileSync(k, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    }
    expect(statSync(path.join(dataDir, 'tether.db')).mode & 0o777).toBe(0o600);
  });

  it('never writes a join token plaintext to the data dir or the logs', () => {
    expect(tokensSeen.length).toBeGreaterThan(5);
    const blobs = files(dataDir).map((f) => readFileSync(f).toString('latin1'));
    const logs = ca.output();
    for (const token of tokensSeen) {
      expect(logs).not.toContain(token);
      for (const blob of blobs) expect(blob).not.toContain(token);
    }
  });

  it('writes an audit line per issuance with serial, ID, notAfter, attestor and peer', () => {
    const audit = ca.logs().filter((l) => l['msg'] === 'certificate issued');
    expect(audit.length).toBeGreaterThan(5);
    for (const line of audit) {
      expect(line).toMatchObject({
        serial: expect.any(String),
        spiffeId: expect.any(String),
        notAfter: expect.any(String),
      });
      expect(['join_token', 'renewal']).toContain(line['attestor']);
      expect(line['peer']).toMatch(/127\.0\.0\.1/);
    }
    expect(ca.output()).not.toContain('BEGIN PRIVATE KEY');
  });
});

describe('ops endpoints', () => {
  it('serves /healthz, /readyz and Prometheus metrics with CSR counts by result', async () => {
    const base = `http://127.0.0.1:${ca.metricsPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tether_ca_csr_total\{result="issued",attestor="join_token"\} [1-9]/);
    expect(metrics).toMatch(/tether_ca_csr_total\{result="ERR_CREDENTIAL_INVALID",attestor="none"\} [1-9]/);
    expect(metrics).toMatch(/tether_ca_sign_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/tether_ca_certificate_expiry_timestamp_seconds\{kind="root"/);
  });
});
