import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { JwtTokenVerifier } from './kubernetes-jwt.js';
import type { KeySource } from './kubernetes-keys.js';

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const NOW_S = 1_800_000_000;
type Pair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: Pair;
let ec: Pair;

/** A key source over a fixed JWKS that records refresh requests. */
class FixedKeys implements KeySource {
  refreshes = 0;
  constructor(
    private getKey: JWTVerifyGetKey,
    private readonly next?: JWTVerifyGetKey,
  ) {}
  async keys(refresh: boolean): Promise<JWTVerifyGetKey> {
    if (refresh) {
      this.refreshes++;
      if (this.next) this.getKey = this.next;
    }
    return this.getKey;
  }
}

async function jwks(...pairs: [Pair, string, string][]): Promise<JWTVerifyGetKey> {
  const keys = await Promise.all(
    pairs.map(async ([p, kid, alg]) => ({ ...(await exportJWK(p.publicKey)), kid, alg })),
  );
  return createLocalJWKSet({ keys });
}

function claims(over: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: ['tether-ca'],
    sub: 'system:serviceaccount:shop:web',
    iat: NOW_S,
    nbf: NOW_S,
    exp: NOW_S + 3600,
    'kubernetes.io': {
      namespace: 'shop',
      pod: { name: 'web-1', uid: 'u1' },
      serviceaccount: { name: 'web', uid: 'u2' },
    },
    ...over,
  };
}

const sign = (p: JWTPayload, key: Pair, kid = 'rsa-1', alg = 'RS256') =>
  new SignJWT(p).setProtectedHeader({ alg, kid }).sign(key.privateKey);

const verifier = (keys: KeySource) =>
  new JwtTokenVerifier({ issuer: ISSUER, audience: 'tether-ca', keys, clockToleranceSeconds: 30 });

beforeAll(async () => {
  rsa = await generateKeyPair('RS256');
  ec = await generateKeyPair('ES256');
});

describe('JwtTokenVerifier', () => {
  it('accepts RS256 and ES256 tokens from the issuer', async () => {
    const v = verifier(new FixedKeys(await jwks([rsa, 'rsa-1', 'RS256'], [ec, 'ec-1', 'ES256'])));
    await expect(v.verify(await sign(claims(), rsa), NOW_S * 1000)).resolves.toMatchObject({
      namespace: 'shop',
      serviceAccount: 'web',
    });
    await expect(v.verify(await sign(claims(), ec, 'ec-1', 'ES256'), NOW_S * 1000)).resolves.toMatchObject({
      podName: 'web-1',
    });
  });

  it('uses the injected time: expired beyond the tolerance, accepted within it', async () => {
    const v = verifier(new FixedKeys(await jwks([rsa, 'rsa-1', 'RS256'])));
    const t = await sign(claims(), rsa);
    await expect(v.verify(t, (NOW_S + 3600 + 29) * 1000)).resolves.toBeDefined();
    await expect(v.verify(t, (NOW_S + 3600 + 31) * 1000)).rejects.toThrow(/has expired/);
    await expect(v.verify(t, (NOW_S - 31) * 1000)).rejects.toThrow(/not valid yet/);
  });

  it('refuses other algorithms, even with a published key', async () => {
    const ps = await generateKeyPair('PS256');
    const v = verifier(new FixedKeys(await jwks([ps, 'ps-1', 'PS256'])));
    await expect(v.verify(await sign(claims(), ps, 'ps-1', 'PS256'), NOW_S * 1000)).rejects.toThrow(
      /algorithm not allowed/,
    );
  });

  it('refetches the keys once on an unknown kid (the cluster rotated its key)', async () => {
    const keys = new FixedKeys(await jwks([rsa, 'rsa-1', 'RS256']), await jwks([ec, 'ec-2', 'ES256']));
    const v = verifier(keys);
    await expect(v.verify(await sign(claims(), ec, 'ec-2', 'ES256'), NOW_S * 1000)).resolves.toBeDefined();
    expect(keys.refreshes).toBe(1);
  });

  it('refuses a token whose issuer differs, without asking for keys', async () => {
    const keys = new FixedKeys(await jwks([rsa, 'rsa-1', 'RS256']));
    await expect(
      verifier(keys).verify(await sign(claims({ iss: 'https://evil' }), rsa), NOW_S * 1000),
    ).rejects.toThrow(/issuer https:\/\/evil is not the cluster issuer/);
    expect(keys.refreshes).toBe(0);
  });

  it('refuses a token for another audience', async () => {
    const v = verifier(new FixedKeys(await jwks([rsa, 'rsa-1', 'RS256'])));
    await expect(v.verify(await sign(claims({ aud: 'vault' }), rsa), NOW_S * 1000)).rejects.toThrow(
      /audience "vault" does not include tether-ca/,
    );
  });
});
