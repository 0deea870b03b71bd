// An independent RFC 8705 authorization server for interop tests: node-oidc-provider issuing
// certificate-bound JWT access tokens (client_credentials, tls_client_auth by URI SAN) over HTTPS
// with a serving certificate from the test mesh's CA.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { exportJWK } from 'jose';
import Provider from 'oidc-provider';
import { leafFromCa } from './fixtures.js';
import type { Mesh } from './mesh.js';

export interface OAuthAs {
  readonly issuer: string;
  /** Access tokens issued so far. */
  issued(): number;
  close(): Promise<void>;
}

export interface OAuthAsOptions {
  readonly mesh: Mesh;
  /** SPIFFE IDs allowed to obtain tokens (client_id = tls_client_auth_san_uri = the ID). */
  readonly clients: readonly string[];
  readonly resource: string;
  readonly scope: string;
  readonly accessTokenTtlSeconds?: number;
}

function pemOf(raw: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${raw.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

/** oidc-provider's resource-indicator feature issuing JWT access tokens for one resource. */
export function jwtResourceIndicators(resourceUri: string, scope: string, alg: 'ES256' | 'PS256') {
  return {
    enabled: true,
    defaultResource: () => resourceUri,
    useGrantedResource: () => true,
    getResourceServerInfo: (_ctx: unknown, resource: string) => {
      if (resource !== resourceUri) throw new Error(`unknown resource ${resource}`);
      return { scope, audience: resourceUri, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
    },
  };
}

function mtlsFeature() {
  const socketOf = (ctx: { socket: tls.TLSSocket }) => ctx.socket;
  return {
    enabled: true,
    certificateBoundAccessTokens: true,
    tlsClientAuth: true,
    getCertificate: (ctx: { socket: tls.TLSSocket }) => {
      const raw = socketOf(ctx).getPeerCertificate()?.raw;
      return raw ? pemOf(raw) : undefined;
    },
    certificateAuthorized: (ctx: { socket: tls.TLSSocket }) => socketOf(ctx).authorized,
    certificateSubjectMatches: (ctx: { socket: tls.TLSSocket }, property: string, expected: string) => {
      const raw = socketOf(ctx).getPeerCertificate()?.raw;
      if (!raw || property !== 'tls_client_auth_san_uri') return false;
      const sans = (new X509Certificate(raw).subjectAltName ?? '').split(', ');
      return sans.includes(`URI:${expected}`);
    },
  };
}

async function configuration(o: OAuthAsOptions): Promise<Record<string, unknown>> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'oidc-es256', alg: 'ES256', use: 'sig' };
  return {
    clients: o.clients.map((id) => ({
      client_id: id,
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_san_uri: id,
      tls_client_certificate_bound_access_tokens: true,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: 'ES256',
    })),
    clientAuthMethods: ['tls_client_auth'],
    jwks: { keys: [jwk] },
    cookies: { keys: ['interop-test-cookie-key'] },
    ttl: { ClientCredentials: o.accessTokenTtlSeconds ?? 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      mTLS: mtlsFeature(),
      resourceIndicators: jwtResourceIndicators(o.resource, o.scope, 'ES256'),
    },
  };
}

/** Starts oidc-provider on https://localhost:<port> (the mesh CA signs its certificate for `localhost`). */
export async function startOidcProviderAs(o: OAuthAsOptions): Promise<OAuthAs> {
  const now = Date.now();
  const serving = await leafFromCa(
    o.mesh.dataDir,
    'spiffe://example.org/ns/auth/sa/oidc-provider',
    new Date(now - 60_000),
    new Date(now + 3_600_000),
    ['localhost'],
  );
  const server = https.createServer({
    key: serving.keyPem,
    cert: serving.chainPem,
    ca: o.mesh.ca.bundlePem,
    requestCert: true,
    rejectUnauthorized: false, // tls_client_auth decides, per oidc-provider's certificateAuthorized
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, await configuration(o));
  let issued = 0;
  provider.on('access_token.issued', () => issued++);
  provider.on('client_credentials.saved', () => issued++);
  server.on('request', provider.callback());
  return {
    issuer,
    issued: () => issued,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
