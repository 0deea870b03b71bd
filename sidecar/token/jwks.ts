// The AS's signing keys for JWT validation: jose's remote JWKS (cached, cooldown 30 s, refetched
// once on an unknown `kid`) fetched through our HTTPS client so a foreign AS's roots (`caFile`) or
// the mesh bundle verify it, with the jwks_uri taken from the AS metadata on first use.
import { createRemoteJWKSet, customFetch, type FetchImplementation, type JWTVerifyGetKey } from 'jose';
import type { Discovery } from './discovery.js';
import { type AsTls, requestJson } from './https-json.js';

/** A fetch for jose that speaks HTTPS with our trust roots and client certificate. */
export function httpsFetch(tls: () => AsTls): FetchImplementation {
  return async (url) => {
    const res = await requestJson(url, { tls: tls(), timeoutMs: 5_000 });
    return new Response(res.text, { status: res.status, headers: { 'content-type': 'application/json' } });
  };
}

/** A key resolver for jwtVerify that discovers `jwks_uri` lazily and follows it if it changes. */
export function jwksFromDiscovery(discovery: Discovery, tls: () => AsTls): JWTVerifyGetKey {
  let uri: string | undefined;
  let set: ReturnType<typeof createRemoteJWKSet> | undefined;
  return async (header, token) => {
    const { jwksUri } = await discovery.endpoints();
    if (!jwksUri) throw new Error('the authorization server publishes no jwks_uri');
    if (!set || uri !== jwksUri) {
      uri = jwksUri;
      set = createRemoteJWKSet(new URL(jwksUri), {
        [customFetch]: httpsFetch(tls),
        cooldownDuration: 30_000,
        cacheMaxAge: 600_000,
      });
    }
    return set(header, token);
  };
}
