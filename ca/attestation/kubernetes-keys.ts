// Where the cluster issuer's signing keys come from: a JWKS file (air-gapped clusters) or the
// issuer's OIDC discovery document and its jwks_uri over HTTPS. Keys are cached; an unknown `kid`
// triggers one refetch (at most every 30 s), so a rotated cluster key is picked up without restarts.
import { readFileSync, statSync } from 'node:fs';
import https from 'node:https';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { TetherError } from '../../common/errors.js';

export interface KeySource {
  /** The current key set; `refresh` forces a reload (rate-limited). */
  keys(refresh: boolean): Promise<JWTVerifyGetKey>;
}

const REFRESH_COOLDOWN_MS = 30_000;
const MAX_AGE_MS = 10 * 60_000;
const MAX_BODY_BYTES = 256 * 1024;

function parseJwks(text: string, from: string): JSONWebKeySet {
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch (err) {
    throw new TetherError('ERR_CONFIG_INVALID', `${from} is not JSON`, { cause: err });
  }
  if (!jwks || typeof jwks !== 'object' || !Array.isArray((jwks as { keys?: unknown }).keys))
    throw new TetherError('ERR_CONFIG_INVALID', `${from} is not a JWKS (no "keys" array)`);
  return jwks as JSONWebKeySet;
}

/** Keys from a JWKS file (`--k8s-jwks-file`), re-read when the file changes. */
export class JwksFileKeySource implements KeySource {
  private cached: { mtimeMs: number; getKey: JWTVerifyGetKey } | null = null;

  constructor(private readonly file: string) {}

  async keys(): Promise<JWTVerifyGetKey> {
    const mtimeMs = statSync(this.file).mtimeMs;
    if (this.cached?.mtimeMs !== mtimeMs) {
      const jwks = parseJwks(readFileSync(this.file, 'utf8'), `JWKS file ${this.file}`);
      this.cached = { mtimeMs, getKey: createLocalJWKSet(jwks) };
    }
    return this.cached.getKey;
  }
}

/** GETs a JSON document over HTTPS (roots: `ca`, or the system store when undefined). */
export function fetchJson(url: string, ca: string | undefined, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!url.startsWith('https://')) return reject(new Error(`${url} is not an https:// URL`));
    const req = https.get(url, { ...(ca ? { ca } : {}), timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        if (body.length > MAX_BODY_BYTES) req.destroy(new Error(`${url}: response too large`));
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url} answered HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${url} did not answer JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.on('error', reject);
  });
}

/** Keys from the issuer's OIDC discovery document (`<issuer>/.well-known/openid-configuration`). */
export class DiscoveryKeySource implements KeySource {
  private cached: { at: number; getKey: JWTVerifyGetKey } | null = null;
  private loading: Promise<JWTVerifyGetKey> | null = null;

  constructor(
    private readonly issuer: string,
    private readonly ca: string | undefined,
    private readonly now: () => number,
  ) {}

  async keys(refresh: boolean): Promise<JWTVerifyGetKey> {
    const age = this.cached ? this.now() - this.cached.at : Number.POSITIVE_INFINITY;
    const stale = age > MAX_AGE_MS || (refresh && age > REFRESH_COOLDOWN_MS);
    if (this.cached && !stale) return this.cached.getKey;
    this.loading ??= this.load().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  private async load(): Promise<JWTVerifyGetKey> {
    const wellKnown = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    try {
      const doc = (await fetchJson(wellKnown, this.ca)) as { issuer?: unknown; jwks_uri?: unknown };
      // OIDC Discovery §4.3: the issuer in the document must be the one we asked.
      if (doc?.issuer !== this.issuer)
        throw new Error(`discovery document names issuer ${String(doc?.issuer)}, expected ${this.issuer}`);
      if (typeof doc.jwks_uri !== 'string') throw new Error('discovery document has no jwks_uri');
      const jwks = parseJwks(JSON.stringify(await fetchJson(doc.jwks_uri, this.ca)), doc.jwks_uri);
      const getKey = createLocalJWKSet(jwks);
      this.cached = { at: this.now(), getKey };
      return getKey;
    } catch (err) {
      if (this.cached) return this.cached.getKey; // keep serving with the last good keys
      throw new TetherError(
        'ERR_CA_NOT_READY',
        `cannot load the Kubernetes issuer's keys from ${wellKnown}`,
        {
          cause: err,
        },
      );
    }
  }
}
