// Hostile and broken requests against the real CA process: each gets the right gRPC status and
// a log line, and the CA keeps serving good requests afterwards.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCsr } from '../../sidecar/identity/csr.js';
import { caClient, signCertificate } from '../helpers/ca-client.js';
import { type CaProcess, initCa, removeDir, startCa, tetherOk, writeConfig } from '../helpers/ca-process.js';
import { foreignLeaf, leafFromCa } from '../helpers/fixtures.js';
import { enrollWithToken, newKey, renew } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
let ca: CaProcess;
let dataDir: string;

const token = () => tetherOk(['ca', 'token', 'create', '--data-dir', dataDir, '--spiffe-id', WEB]);

async function send(csr: Buffer, joinToken?: string) {
  const client = caClient(ca.address, ca.bundlePem);
  try {
    return await signCertificate(client, { csr, joinToken: joinToken ?? (await token()) });
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  dataDir = await initCa();
  ca = await startCa({ dataDir });
});

afterAll(async () => {
  await ca?.stop();
  removeDir(path.dirname(dataDir));
});

describe('malformed and hostile CSRs', () => {
  it('refuses garbage bytes as INVALID_ARGUMENT', async () => {
    await expect(send(Buffer.from('this is not a CSR at all'))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('not a valid DER PKCS#10'),
    });
  });

  it('refuses a truncated CSR as INVALID_ARGUMENT', async () => {
    const csr = buildCsr(newKey());
    await expect(send(csr.subarray(0, csr.length - 7))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
  });

  it('refuses a forged CSR whose signature does not verify', async () => {
    const csr = buildCsr(newKey());
    csr[csr.length - 3]! ^= 0x55;
    await expect(send(csr)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('signature'),
    });
  });

  it('refuses a CSR over the size limit with INVALID_ARGUMENT', async () => {
    const csr = buildCsr(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, {
      dnsNames: Array.from({ length: 800 }, (_, i) => `name-${i}.example.org`),
    });
    expect(csr.length).toBeGreaterThan(16384);
    expect(csr.length).toBeLessThan(65536);
    await expect(send(csr)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('limit'),
    });
  });

  it('refuses a message over the gRPC size limit with RESOURCE_EXHAUSTED', async () => {
    await expect(send(Buffer.alloc(100_000, 1))).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
  });

  it('refuses a CSR asking for another identity with PERMISSION_DENIED', async () => {
    const csr = buildCsr(newKey(), { uris: ['spiffe://example.org/ns/kube-system/sa/admin'] });
    await expect(send(csr)).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining('attested as spiffe://example.org/ns/shop/sa/web'),
    });
  });

  it('refuses a CSR asking for CA:true with INVALID_ARGUMENT', async () => {
    await expect(send(buildCsr(newKey(), { requestCa: true }))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('CA:true'),
    });
  });

  it('refuses a CSR with a weak RSA key', async () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    await expect(send(buildCsr(weak))).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringContaining('RSA-1024'),
    });
  });

  it('does not burn a join token on a refused CSR', async () => {
    const t = await token();
    await expect(send(buildCsr(newKey(), { requestCa: true }), t)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
    });
    await expect(send(buildCsr(newKey()), t)).resolves.toMatchObject({ spiffeId: WEB });
  });
});

describe('renewal with certificates that must not work', () => {
  it('refuses a certificate from a foreign CA with UNAUTHENTICATED', async () => {
    await expect(renew(ca.address, ca.bundlePem, foreignLeaf(WEB))).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringContaining('chains to another CA is ignored'),
    });
  });

  it('refuses an expired certificate from this CA with UNAUTHENTICATED', async () => {
    const expired = await leafFromCa(
      dataDir,
      WEB,
      new Date(Date.now() - 7200_000),
      new Date(Date.now() - 3600_000),
    );
    await expect(renew(ca.address, ca.bundlePem, expired)).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringContaining('expired or chains to another CA'),
    });
  });

  it('still renews a valid certificate made the same way (the fixture itself is sound)', async () => {
    const valid = await leafFromCa(
      dataDir,
      WEB,
      new Date(Date.now() - 60_000),
      new Date(Date.now() + 600_000),
    );
    await expect(renew(ca.address, ca.bundlePem, valid)).resolves.toMatchObject({
      response: { spiffeId: WEB },
    });
  });
});

describe('after all of that', () => {
  it('keeps serving and logged each refusal with its error code', async () => {
    const w = await enrollWithToken(ca.address, ca.bundlePem, await token());
    expect(new X509Certificate(w.response.certChain[0]!).ca).toBe(false);
    const refusals = ca.logs().filter((l) => String(l['msg']).startsWith('SignCertificate refused'));
    const codes = new Set(refusals.map((l) => l['code']));
    for (const code of [
      'ERR_CSR_MALFORMED',
      'ERR_CSR_SIGNATURE_INVALID',
      'ERR_CSR_TOO_LARGE',
      'ERR_CSR_IDENTITY_MISMATCH',
      'ERR_CSR_CA_REQUESTED',
      'ERR_CSR_KEY_UNSUPPORTED',
      'ERR_CREDENTIAL_MISSING',
    ]) {
      expect(codes).toContain(code);
    }
  });
});

describe('abuse limits', () => {
  it('blocks a source after repeated failed attestations, even with a good token, and says for how long', async () => {
    const dir = await initCa();
    const config = writeConfig(
      path.dirname(dir),
      `limits:\n  failures: { max: 5, window: 60s, block: 5m }\n`,
    );
    const limited = await startCa({ dataDir: dir, config });
    try {
      for (let i = 0; i < 5; i++) {
        await expect(
          enrollWithToken(limited.address, limited.bundlePem, `tjt_${'A'.repeat(43)}`),
        ).rejects.toMatchObject({
          code: status.UNAUTHENTICATED,
        });
      }
      const good = await tetherOk(['ca', 'token', 'create', '--data-dir', dir, '--spiffe-id', WEB]);
      await expect(enrollWithToken(limited.address, limited.bundlePem, good)).rejects.toMatchObject({
        code: status.RESOURCE_EXHAUSTED,
        details: expect.stringMatching(/failed attestations.*retry in \d+ s/),
      });
      expect(
        limited.logs().some((l) => l['msg'] === 'source blocked after repeated failed attestations'),
      ).toBe(true);
    } finally {
      await limited.stop();
      removeDir(path.dirname(dir));
    }
  });

  it('answers RESOURCE_EXHAUSTED beyond the global CSR rate', async () => {
    const dir = await initCa();
    const config = writeConfig(path.dirname(dir), `limits:\n  csrPerSecond: 1\n  csrBurst: 2\n`);
    const limited = await startCa({ dataDir: dir, config });
    try {
      const t = await tetherOk([
        'ca',
        'token',
        'create',
        '--data-dir',
        dir,
        '--spiffe-id',
        WEB,
        '--uses',
        '5',
      ]);
      const client = caClient(limited.address, limited.bundlePem);
      const results = await Promise.allSettled(
        Array.from({ length: 4 }, () => signCertificate(client, { csr: buildCsr(newKey()), joinToken: t })),
      );
      client.close();
      const refused = results.filter((r) => r.status === 'rejected');
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(2);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect((refused[0] as PromiseRejectedResult).reason).toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    } finally {
      await limited.stop();
      removeDir(path.dirname(dir));
    }
  });
});
