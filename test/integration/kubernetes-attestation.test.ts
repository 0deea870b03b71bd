// Kubernetes attestation end to end: a Kubernetes-style issuer (RS256, OIDC discovery + JWKS over
// HTTPS on 127.0.0.1) mints projected tokens; the real `tether ca serve` verifies them and issues
// spiffe://<td>/ns/<ns>/sa/<sa>, and refuses every bad token with a status and message that say why.
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSans } from '../../common/x509.js';
import { buildCsr } from '../../sidecar/identity/csr.js';
import { caClient, signCertificate } from '../helpers/ca-client.js';
import { type CaProcess, initCa, removeDir, startCa, tempDir, writeConfig } from '../helpers/ca-process.js';
import { type K8sIssuer, projectedClaims, sign, signingKey, startK8sIssuer } from '../helpers/k8s-issuer.js';
import { startSidecar } from '../helpers/sidecar-process.js';
import { newKey } from '../helpers/workload.js';

const WEB = { namespace: 'shop', serviceAccount: 'web' };
let issuer: K8sIssuer;
let ca: CaProcess;
let dataDir: string;
/** A second CA in offline mode (--k8s-jwks-file), started beside the first to save time. */
let offline: CaProcess;
let offlineDir: string;
const OFFLINE_ISSUER = 'https://kubernetes.default.svc.cluster.local';
let work: string;
const nowS = () => Math.floor(Date.now() / 1000);

async function send(target: CaProcess, kubernetesToken: string) {
  const client = caClient(target.address, target.bundlePem);
  try {
    return await signCertificate(client, { csr: buildCsr(newKey()), kubernetesToken });
  } finally {
    client.close();
  }
}

const token = (over: JWTPayload = {}, ref = WEB) =>
  sign({ ...projectedClaims(issuer.url, ref, nowS()), ...over }, issuer.keys[0]!);

beforeAll(async () => {
  work = tempDir();
  issuer = await startK8sIssuer(work);
  [dataDir, offlineDir] = await Promise.all([initCa('example.org'), initCa('cluster.local')]);
  const jwksFile = path.join(work, 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify(issuer.jwks()));
  const config = writeConfig(
    work,
    [
      'kubernetes:',
      `  issuer: ${issuer.url}`,
      `  issuerCaFile: ${issuer.caFile}`,
      '  allowNamespaces: [shop, payments]',
    ].join('\n'),
  );
  [ca, offline] = await Promise.all([
    startCa({ dataDir, config }),
    startCa({
      dataDir: offlineDir,
      args: ['--k8s-issuer', OFFLINE_ISSUER, '--k8s-jwks-file', jwksFile, '--k8s-allow-namespaces', 'shop'],
    }),
  ]);
});

afterAll(async () => {
  await Promise.all([ca?.stop(), offline?.stop()]);
  await issuer?.close();
  removeDir(path.dirname(dataDir));
  removeDir(path.dirname(offlineDir));
  removeDir(work);
});

describe('a projected service-account token', () => {
  it('gets spiffe://<td>/ns/<namespace>/sa/<service account>, with keys from OIDC discovery', async () => {
    const res = await send(ca, await token());
    expect(res.spiffeId).toBe('spiffe://example.org/ns/shop/sa/web');
    const leaf = new X509Certificate(res.certChain[0]!);
    expect(readSans(leaf.raw).uris).toEqual(['spiffe://example.org/ns/shop/sa/web']);
    expect(issuer.requests()).toEqual(
      expect.arrayContaining(['/.well-known/openid-configuration', '/openid/v1/jwks']),
    );
    const issued = await ca.waitForLog((l) => l['msg'] === 'certificate issued');
    expect(issued?.['attestor']).toBe('kubernetes');
  });

  it('names the service account of another allowed namespace', async () => {
    const res = await send(ca, await token({}, { namespace: 'payments', serviceAccount: 'ledger' }));
    expect(res.spiffeId).toBe('spiffe://example.org/ns/payments/sa/ledger');
  });

  it('is accepted when signed with ES256 by a key the issuer publishes', async () => {
    const es = await signingKey('ES256');
    issuer.keys.push(es);
    try {
      // A new kid makes the CA refetch the JWKS (after its 30 s cooldown the first time round it
      // may still hold the old set, so the first key is re-published beside it and tried first).
      const jwt = await sign(projectedClaims(issuer.url, WEB, nowS()), issuer.keys[0]!);
      await expect(send(ca, jwt)).resolves.toMatchObject({ spiffeId: 'spiffe://example.org/ns/shop/sa/web' });
    } finally {
      issuer.keys.pop();
    }
  });
});

describe('refusals', () => {
  const refused = async (jwt: string, code: status, message: RegExp) => {
    await expect(send(ca, jwt)).rejects.toMatchObject({ code, details: expect.stringMatching(message) });
  };

  it('refuses a token for another audience as UNAUTHENTICATED', async () => {
    await refused(
      await token({ aud: ['https://kubernetes.default.svc'] }),
      status.UNAUTHENTICATED,
      /audience .* does not include tether-ca/,
    );
  });

  it('refuses an expired token', async () => {
    await refused(
      await token({ iat: nowS() - 7200, nbf: nowS() - 7200, exp: nowS() - 3600 }),
      status.UNAUTHENTICATED,
      /has expired/,
    );
  });

  it('refuses a token that is not valid yet', async () => {
    await refused(await token({ nbf: nowS() + 600 }), status.UNAUTHENTICATED, /not valid yet/);
  });

  it('refuses a token from a foreign issuer', async () => {
    const foreign = await signingKey('ES256');
    const jwt = await sign(projectedClaims('https://other-cluster.example', WEB, nowS()), foreign);
    await refused(
      jwt,
      status.UNAUTHENTICATED,
      /issuer https:\/\/other-cluster.example is not the cluster issuer/,
    );
  });

  it('refuses a legacy secret-based token (no exp, iss kubernetes/serviceaccount)', async () => {
    const legacy = await sign(
      {
        iss: 'kubernetes/serviceaccount',
        sub: 'system:serviceaccount:shop:web',
        'kubernetes.io/serviceaccount/namespace': 'shop',
        'kubernetes.io/serviceaccount/service-account.name': 'web',
        'kubernetes.io/serviceaccount/secret.name': 'web-token-abcde',
      },
      issuer.keys[0]!,
    );
    await refused(legacy, status.UNAUTHENTICATED, /legacy .*non-expiring.* not accepted/);
  });

  it('refuses a token without an expiry even with the right issuer', async () => {
    const { exp: _exp, ...noExp } = projectedClaims(issuer.url, WEB, nowS());
    await refused(await sign(noExp, issuer.keys[0]!), status.UNAUTHENTICATED, /legacy/);
  });

  it('refuses a bad signature (payload changed after signing)', async () => {
    const [h, , s] = (await token()).split('.');
    const forged = Buffer.from(
      JSON.stringify(projectedClaims(issuer.url, { namespace: 'shop', serviceAccount: 'admin' }, nowS())),
    ).toString('base64url');
    await refused(`${h}.${forged}.${s}`, status.UNAUTHENTICATED, /signature does not verify/);
  });

  it('refuses a token signed by an unpublished key that claims a published kid', async () => {
    const rogue = await signingKey('RS256', issuer.keys[0]!.kid);
    await refused(
      await sign(projectedClaims(issuer.url, WEB, nowS()), rogue),
      status.UNAUTHENTICATED,
      /signature does not verify/,
    );
  });

  it('refuses a token that is not bound to a pod', async () => {
    const claims = projectedClaims(issuer.url, WEB, nowS());
    const k = claims['kubernetes.io'] as Record<string, unknown>;
    delete k['pod'];
    await refused(await sign(claims, issuer.keys[0]!), status.UNAUTHENTICATED, /not bound to a pod/);
  });

  it('refuses a namespace outside --k8s-allow-namespaces as PERMISSION_DENIED', async () => {
    await refused(
      await token({}, { namespace: 'default', serviceAccount: 'default' }),
      status.PERMISSION_DENIED,
      /namespace default is not allowed/,
    );
  });

  it('refuses something that is not a JWT', async () => {
    await refused('not-a-jwt', status.UNAUTHENTICATED, /not a JWT/);
  });

  it('logged each refusal once and kept serving', async () => {
    await expect(send(ca, await token())).resolves.toMatchObject({
      spiffeId: 'spiffe://example.org/ns/shop/sa/web',
    });
    const jwtInLogs = ca.output().match(/eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}/);
    expect(jwtInLogs).toBeNull();
  });
});

describe('the sidecar with ca.kubernetesTokenFile', () => {
  it('re-reads the token file on every attempt: an expired token is refused, the rotated one works', async () => {
    const tokenFile = path.join(work, 'token');
    const bundleFile = path.join(work, 'bundle.pem');
    writeFileSync(bundleFile, ca.bundlePem);
    writeFileSync(tokenFile, await token({ iat: nowS() - 7200, nbf: nowS() - 7200, exp: nowS() - 3600 }));
    const yaml = [
      'trustDomain: example.org',
      `ca: { address: "${ca.address}", bundleFile: "${bundleFile}", kubernetesTokenFile: "${tokenFile}" }`,
      'admin: 127.0.0.1:0',
    ].join('\n');
    const sidecar = await startSidecar(yaml, { waitReady: false });
    try {
      await waitFor(() =>
        sidecar.logs().some((l) => l['msg'] === 'could not obtain a certificate; retrying'),
      );
      expect(sidecar.output()).toMatch(/has expired/);
      // What the kubelet does when it rotates the projected token: replace the file's contents.
      writeFileSync(tokenFile, await token());
      await waitFor(() => sidecar.logs().some((l) => l['msg'] === 'sidecar ready'));
      expect((await sidecar.certs()).spiffeId).toBe('spiffe://example.org/ns/shop/sa/web');
      expect(sidecar.output()).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}\./);
    } finally {
      await sidecar.stop();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('offline mode (--k8s-issuer + --k8s-jwks-file)', () => {
  const offlineToken = (ref = WEB) => sign(projectedClaims(OFFLINE_ISSUER, ref, nowS()), issuer.keys[0]!);

  it('verifies with the JWKS file alone (the issuer URL is not even reachable)', async () => {
    await expect(send(offline, await offlineToken())).resolves.toMatchObject({
      spiffeId: 'spiffe://cluster.local/ns/shop/sa/web',
    });
  });

  it("refuses the discovery issuer's tokens, other namespaces and unpublished keys", async () => {
    const foreign = await sign(projectedClaims(issuer.url, WEB, nowS()), issuer.keys[0]!);
    await expect(send(offline, foreign)).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    const other = await offlineToken({ namespace: 'payments', serviceAccount: 'x' });
    await expect(send(offline, other)).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    const rogue = await signingKey('ES256');
    await expect(
      send(offline, await sign(projectedClaims(OFFLINE_ISSUER, WEB, nowS()), rogue)),
    ).rejects.toMatchObject({
      code: status.UNAUTHENTICATED,
      details: expect.stringMatching(/key the cluster issuer does not publish/),
    });
  });
});
