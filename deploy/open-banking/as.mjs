// A FAPI-style authorization server for the example, built on node-oidc-provider (a
// devDependency of this repo): clients authenticate with tls_client_auth by certificate subject
// DN (RFC 8705 §2.1.2) on a separate mTLS host published in mtls_endpoint_aliases, and receive
// PS256 JWT access tokens bound to their certificate (cnf.x5t#S256). Test use only: the signing
// key is generated at start.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK } from 'jose';
import Provider from 'oidc-provider';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'certs');
const read = (f) => readFileSync(path.join(dir, f), 'utf8');
const RESOURCE = 'https://bank.example/open-banking';
const [PLAIN, MTLS] = [9443, 9444];
const issuer = `https://localhost:${PLAIN}`;

// client_id → registered subject DN, as make-certs.sh wrote them (RFC 4514 order).
const clients = Object.fromEntries(
  read('subjects.txt')
    .trim()
    .split('\n')
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const subjectOf = (raw) => new X509Certificate(raw).subject.split('\n').reverse().join(',');
const peer = (ctx) => ctx.socket.getPeerCertificate?.()?.raw;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const provider = new Provider(issuer, {
  clients: Object.entries(clients).map(([client_id, dn]) => ({
    client_id,
    token_endpoint_auth_method: 'tls_client_auth',
    tls_client_auth_subject_dn: dn,
    tls_client_certificate_bound_access_tokens: true,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    id_token_signed_response_alg: 'PS256',
  })),
  clientAuthMethods: ['tls_client_auth'],
  jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'example-ps256', alg: 'PS256', use: 'sig' }] },
  cookies: { keys: ['open-banking-example'] },
  discovery: { mtls_endpoint_aliases: { token_endpoint: `https://localhost:${MTLS}/token` } },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      getCertificate: (ctx) => (peer(ctx) ? new X509Certificate(peer(ctx)).toString() : undefined),
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches: (ctx, property, expected) =>
        property === 'tls_client_auth_subject_dn' && Boolean(peer(ctx)) && subjectOf(peer(ctx)) === expected,
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => {
        if (resource !== RESOURCE) throw new Error(`unknown resource ${resource}`);
        return {
          scope: 'openbanking',
          audience: RESOURCE,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'PS256' } },
        };
      },
    },
  },
});
provider.on('client_credentials.issued', (t) => console.log(`issued a token to ${t.clientId}`));

const tlsBase = { key: read('as.key'), cert: read('as.pem') };
https.createServer(tlsBase, provider.callback()).listen(PLAIN, '127.0.0.1');
https
  .createServer(
    { ...tlsBase, ca: read('qtsp.pem'), requestCert: true, rejectUnauthorized: false },
    provider.callback(),
  )
  .listen(MTLS, '127.0.0.1');
console.log(`authorization server ${issuer} (mTLS token endpoint on :${MTLS})`);
