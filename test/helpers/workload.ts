// A test workload: its own key, a CSR, and the certificate the CA gave it, as PEM for TLS.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { certsToPem } from '../../common/pem.js';
import type { CertificateAuthorityClient } from '../../proto/gen/tether/ca/v1/CertificateAuthority.js';
import type { SignCertificateResponse__Output } from '../../proto/gen/tether/ca/v1/SignCertificateResponse.js';
import { buildCsr, type CsrRequest } from '../../sidecar/identity/csr.js';
import { caClient, signCertificate } from './ca-client.js';
import { tempDir } from './ca-process.js';

export interface Workload {
  readonly key: KeyObject;
  readonly keyPem: string;
  readonly chainPem: string;
  readonly leaf: X509Certificate;
  readonly response: SignCertificateResponse__Output;
}

export function newKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

export function workloadFrom(key: KeyObject, response: SignCertificateResponse__Output): Workload {
  return {
    key,
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    chainPem: certsToPem(response.certChain),
    leaf: new X509Certificate(response.certChain[0]!),
    response,
  };
}

/** Enrolls with a join token over a fresh connection. */
export async function enrollWithToken(
  address: string,
  bundlePem: string,
  joinToken: string,
  o: { ttlSeconds?: number; csr?: CsrRequest } = {},
): Promise<Workload> {
  const client = caClient(address, bundlePem);
  try {
    const key = newKey();
    const response = await signCertificate(client, {
      csr: buildCsr(key, o.csr),
      joinToken,
      ttlSeconds: o.ttlSeconds ?? 0,
    });
    return workloadFrom(key, response);
  } finally {
    client.close();
  }
}

/** Renews over mTLS with `current` as the client certificate (no credential in the request). */
export async function renew(
  address: string,
  bundlePem: string,
  current: { keyPem: string; chainPem: string },
): Promise<Workload> {
  const client: CertificateAuthorityClient = caClient(address, bundlePem, current);
  try {
    const key = newKey();
    const response = await signCertificate(client, { csr: buildCsr(key), ttlSeconds: 0 });
    return workloadFrom(key, response);
  } finally {
    client.close();
  }
}

/** `openssl verify -x509_strict -purpose P` of a leaf+intermediates chain against a bundle. Returns stdout or throws. */
export function opensslVerify(
  chain: readonly Uint8Array[],
  bundlePem: string,
  purpose: 'sslclient' | 'sslserver',
): string {
  const dir = tempDir('tether-verify-');
  const leaf = path.join(dir, 'leaf.pem');
  const untrusted = path.join(dir, 'untrusted.pem');
  const bundle = path.join(dir, 'bundle.pem');
  writeFileSync(leaf, certsToPem(chain.slice(0, 1)));
  writeFileSync(untrusted, certsToPem(chain.slice(1)));
  writeFileSync(bundle, bundlePem);
  const args = ['verify', '-x509_strict', '-purpose', purpose, '-CAfile', bundle];
  if (chain.length > 1) args.push('-untrusted', untrusted);
  return execFileSync('openssl', [...args, leaf], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
