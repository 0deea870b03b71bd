// A Kubernetes-style service-account token issuer for tests: an RS256 key generated at run time,
// OIDC discovery and JWKS served over real HTTPS on 127.0.0.1 (certificate made by openssl), and
// projected tokens with the claims a kube-apiserver puts in them.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface PodRef {
  namespace: string;
  serviceAccount: string;
  pod?: string;
}

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  jwk: JWK;
}

export async function signingKey(
  alg: 'RS256' | 'ES256' = 'RS256',
  kid: string = randomUUID(),
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** The claims kube-apiserver puts in a projected token (TokenRequest with a bound pod). */
export function projectedClaims(issuer: string, ref: PodRef, nowS: number, ttlS = 3600): JWTPayload {
  const pod = ref.pod ?? `${ref.serviceAccount}-7d9f8c-x2x4q`;
  return {
    iss: issuer,
    aud: ['tether-ca'],
    sub: `system:serviceaccount:${ref.namespace}:${ref.serviceAccount}`,
    iat: nowS,
    nbf: nowS,
    exp: nowS + ttlS,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: ref.namespace,
      node: { name: 'node-1', uid: randomUUID() },
      pod: { name: pod, uid: randomUUID() },
      serviceaccount: { name: ref.serviceAccount, uid: randomUUID() },
      warnafter: nowS + Math.floor(ttlS * 0.8),
    },
  };
}

/** Signs `payload` as-is (no claims added). */
export function sign(payload: JWTPayload, key: SigningKey): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
}

export interface K8sIssuer {
  readonly url: string;
  /** PEM of the issuer's self-signed HTTPS certificate. */
  readonly caFile: string;
  /** The published keys (mutable: push a new key to simulate rotation). */
  readonly keys: SigningKey[];
  /** JWKS as the API server serves it at /openid/v1/jwks. */
  jwks(): { keys: JWK[] };
  requests(): string[];
  close(): Promise<void>;
}

/** Self-signed P-256 certificate for 127.0.0.1 via openssl; returns cert and key paths. */
export function selfSignedCert(dir: string, name: string): { cert: string; key: string } {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
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
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** Serves OIDC discovery + JWKS like kube-apiserver's /.well-known/openid-configuration. */
export async function startK8sIssuer(dir: string): Promise<K8sIssuer> {
  const tlsFiles = selfSignedCert(dir, 'k8s-issuer');
  const keys = [await signingKey('RS256')];
  const seen: string[] = [];
  let url = '';
  const jwks = () => ({ keys: keys.map((k) => k.jwk) });
  const server: Server = createServer(
    { cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) },
    (req, res) => {
      seen.push(req.url ?? '');
      const body =
        req.url === '/.well-known/openid-configuration'
          ? {
              issuer: url,
              jwks_uri: `${url}/openid/v1/jwks`,
              response_types_supported: ['id_token'],
              subject_types_supported: ['public'],
              id_token_signing_alg_values_supported: ['RS256'],
            }
          : req.url === '/openid/v1/jwks'
            ? jwks()
            : null;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(path.join(dir, 'k8s-issuer-url'), url);
  return {
    url,
    caFile: tlsFiles.cert,
    keys,
    jwks,
    requests: () => [...seen],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
