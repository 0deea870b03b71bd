// An independent FAPI-style authorization server for open-banking tests: node-oidc-provider with
// tls_client_auth by certificate subject DN (RFC 8705 §2.1.2), PS256 certificate-bound JWT access
// tokens, and — like real banks' ASes — client certificates requested only on a separate mTLS host
// published in mtls_endpoint_aliases (the plain token_endpoint cannot authenticate a client).
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import { exportJWK } from 'jose';
import Provider from 'oidc-provider';
import { jwtResourceIndicators } from './oauth-as.js';
import type { Qwac } from './qwac.js';

export interface OpenBankingAs {
  readonly issuer: string;
  readonly mtlsOrigin: string;
  issued(): number;
  close(): Promise<void>;
}

export interface OpenBankingAsOptions {
  /** The AS's HTTPS certificate (valid for localhost) and the QTSP roots clients chain to. */
  readonly serving: Qwac;
  readonly roots: string;
  /** client_id → registered subject DN (RFC 4514, as `openssl x509 -subject -nameopt RFC2253`). */
  readonly clients: Record<string, string>;
  readonly resource: string;
  readonly scope: string;
}

/** The subject of a DER certificate in RFC 4514 order (most specific RDN first). */
function subjectDn(raw: Buffer): string {
  return new X509Certificate(raw).subject.split('\n').reverse().join(',');
}

function mtlsFeature() {
  return {
    enabled: true,
    certificateBoundAccessTokens: true,
    tlsClientAuth: true,
    getCertificate: (ctx: { socket: tls.TLSSocket }) => {
      const raw = ctx.socket.getPeerCertificate?.()?.raw;
      return raw ? new X509Certificate(raw).toString() : undefined;
    },
    certificateAuthorized: (ctx: { socket: tls.TLSSocket }) => ctx.socket.authorized === true,
    certificateSubjectMatches: (ctx: { socket: tls.TLSSocket }, property: string, expected: string) => {
      const raw = ctx.socket.getPeerCertificate?.()?.raw;
      return Boolean(raw) && property === 'tls_client_auth_subject_dn' && subjectDn(raw!) === expected;
    },
  };
}

async function configuration(o: OpenBankingAsOptions, mtlsOrigin: string): Promise<Record<string, unknown>> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'ob-ps256', alg: 'PS256', use: 'sig' };
  return {
    clients: Object.entries(o.clients).map(([id, dn]) => ({
      client_id: id,
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: dn,
      tls_client_certificate_bound_access_tokens: true,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      id_token_signed_response_alg: 'PS256',
    })),
    clientAuthMethods: ['tls_client_auth'],
    jwks: { keys: [jwk] },
    cookies: { keys: ['open-banking-test-cookie-key'] },
    discovery: { mtls_endpoint_aliases: { token_endpoint: `${mtlsOrigin}/token` } },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      mTLS: mtlsFeature(),
      resourceIndicators: jwtResourceIndicators(o.resource, o.scope, 'PS256'),
    },
  };
}

function listen(server: https.Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

/** Starts the plain host (issuer, discovery, JWKS) and the mTLS host (token endpoint alias). */
export async function startOpenBankingAs(o: OpenBankingAsOptions): Promise<OpenBankingAs> {
  const tlsBase = { key: o.serving.keyPem, cert: o.serving.certPem };
  const plain = https.createServer(tlsBase);
  const mtls = https.createServer({ ...tlsBase, ca: o.roots, requestCert: true, rejectUnauthorized: false });
  const issuer = `https://localhost:${await listen(plain)}`;
  const mtlsOrigin = `https://localhost:${await listen(mtls)}`;
  const provider = new Provider(issuer, await configuration(o, mtlsOrigin));
  let issued = 0;
  // JWT-format client-credentials tokens are not stored: count them as they are issued.
  provider.on('client_credentials.issued', () => issued++);
  provider.on('client_credentials.saved', () => issued++);
  plain.on('request', provider.callback());
  mtls.on('request', provider.callback());
  const close = (s: https.Server) =>
    new Promise<void>((resolve) => {
      s.closeAllConnections();
      s.close(() => resolve());
    });
  return {
    issuer,
    mtlsOrigin,
    issued: () => issued,
    close: async () => {
      await close(plain);
      await close(mtls);
    },
  };
}
