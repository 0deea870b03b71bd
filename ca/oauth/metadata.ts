// RFC 8414 authorization server metadata, built from the issuer URL, so every advertised endpoint
// sits under the issuer. All endpoints require mTLS, so mtls_endpoint_aliases (RFC 8705 §5) repeat them.

/** Path of each endpoint under the issuer. */
export const OAUTH_PATHS = {
  metadata: '/.well-known/oauth-authorization-server',
  token: '/token',
  jwks: '/jwks',
  introspection: '/introspect',
} as const;

export function authorizationServerMetadata(issuer: string, scopesSupported: readonly string[]) {
  const token_endpoint = `${issuer}${OAUTH_PATHS.token}`;
  const introspection_endpoint = `${issuer}${OAUTH_PATHS.introspection}`;
  return {
    issuer,
    token_endpoint,
    jwks_uri: `${issuer}${OAUTH_PATHS.jwks}`,
    introspection_endpoint,
    grant_types_supported: ['client_credentials'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['tls_client_auth'],
    introspection_endpoint_auth_methods_supported: ['tls_client_auth'],
    tls_client_certificate_bound_access_tokens: true,
    mtls_endpoint_aliases: { token_endpoint, introspection_endpoint },
    scopes_supported: [...scopesSupported],
  };
}

/** `https://host:port` for a bound address (IPv6 in brackets). */
export function defaultIssuer(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
