import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../common/clock.js';
import { SqliteStore } from '../store/sqlite.js';
import { type AccessTokenClaims, signAccessToken } from './access-token.js';
import { INACTIVE, Introspection } from './introspection.js';
import { SigningKeys } from './signing-keys.js';

const ISSUER = 'https://127.0.0.1:8444';
const T0 = 1_700_000_000_000;
let dir: string;
let store: SqliteStore;
let clock: ManualClock;
let keys: SigningKeys;
let introspection: Introspection;

function claims(overrides: Partial<AccessTokenClaims> = {}): AccessTokenClaims {
  const iat = Math.floor(clock.now() / 1000);
  return {
    iss: ISSUER,
    sub: 'spiffe://example.org/web',
    aud: 'orders',
    client_id: 'spiffe://example.org/web',
    scope: 'read:orders',
    cnf: { 'x5t#S256': 'A'.repeat(43) },
    jti: 'j1',
    iat,
    nbf: iat,
    exp: iat + 900,
    ...overrides,
  };
}

beforeEach(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tether-introspect-'));
  mkdirSync(path.join(dir, 'keys'));
  store = new SqliteStore(path.join(dir, 'tether.db'), { create: true });
  clock = new ManualClock(T0);
  const policy = { signingKeyTtlSeconds: 3600, tokenTtlSeconds: 900 };
  keys = await SigningKeys.open({
    store,
    keysDir: path.join(dir, 'keys'),
    passphrase: null,
    clock,
    log: pino({ level: 'silent' }),
    policy,
  });
  introspection = new Introspection({ clock, store, trustDomain: 'example.org', keys, issuer: () => ISSUER });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Introspection.inspect', () => {
  it('answers active with the claims and cnf for a current token', async () => {
    const answer = await introspection.inspect(await signAccessToken(claims(), keys.signer()));
    expect(answer).toMatchObject({
      active: true,
      token_type: 'Bearer',
      scope: 'read:orders',
      aud: 'orders',
      cnf: { 'x5t#S256': 'A'.repeat(43) },
    });
  });

  it('answers inactive once the token has expired', async () => {
    const token = await signAccessToken(claims(), keys.signer());
    clock.advance(900_000);
    expect(await introspection.inspect(token)).toEqual(INACTIVE);
  });

  it('answers inactive for a token not yet valid', async () => {
    const iat = Math.floor(T0 / 1000) + 600;
    expect(
      await introspection.inspect(await signAccessToken(claims({ iat, nbf: iat }), keys.signer())),
    ).toEqual(INACTIVE);
  });

  it('answers inactive for another issuer, another key, a wrong typ and garbage', async () => {
    expect(
      await introspection.inspect(await signAccessToken(claims({ iss: 'https://evil' }), keys.signer())),
    ).toEqual(INACTIVE);
    const { privateKey } = await generateKeyPair('ES256');
    const other = await signAccessToken(claims(), { kid: keys.signer().kid, key: privateKey as never });
    expect(await introspection.inspect(other)).toEqual(INACTIVE);
    const idToken = await new SignJWT({ ...claims() })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: keys.signer().kid })
      .sign(keys.signer().key);
    expect(await introspection.inspect(idToken)).toEqual(INACTIVE);
    expect(await introspection.inspect('a.b.c')).toEqual(INACTIVE);
  });

  it('keeps accepting a token signed by a retired key until that key is dropped', async () => {
    const token = await signAccessToken(claims(), keys.signer());
    await keys.rotate(true);
    expect((await introspection.inspect(token)).active).toBe(true);
    clock.advance(900_000 + 60_000);
    await keys.rotate(false);
    expect(
      keys
        .records()
        .map((r) => r.state)
        .sort(),
    ).toEqual(['active', 'next']);
    expect(await introspection.inspect(token)).toEqual(INACTIVE);
  });
});
