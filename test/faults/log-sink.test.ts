// The secret scanner behind the integration suite's log sink catches what it must (real keys,
// real join tokens, JWTs, Authorization headers) and passes redacted or public material.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { initCa, tetherOk } from '../helpers/ca-process.js';
import { findSecrets } from '../helpers/log-sink.js';

describe('findSecrets', () => {
  it('finds a PEM private key, a real join token, a JWT and an Authorization header', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const dir = await initCa();
    const token = await tetherOk([
      'ca',
      'token',
      'create',
      '--data-dir',
      dir,
      '--spiffe-id',
      'spiffe://example.org/x',
    ]);
    const jwt = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256' }).sign(key);
    const lines = [
      JSON.stringify({ msg: 'oops', key: pem }),
      `{"msg":"attesting","token":"${token}"}`,
      `upstream said: invalid token ${jwt}`,
      '{"req":{"headers":{"authorization":"Basic Zm9vOmJhcg=="}}}',
      'GET / with Bearer abcdefghijklmnopqrstuvwxyz0123',
    ];
    expect(findSecrets(lines.join('\n'))).toHaveLength(5);
  });

  it('passes redacted values, certificates, thumbprints and error challenges', () => {
    const clean = [
      '{"msg":"request","req":{"headers":{"authorization":"[redacted]"}}}',
      '-----BEGIN CERTIFICATE-----\nMIIB',
      '{"cnf":{"x5t#S256":"bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}}',
      'WWW-Authenticate: Bearer error="invalid_token", error_description="the token has expired"',
      '{"token":"tjt_[redacted]"}',
    ];
    expect(findSecrets(clean.join('\n'))).toEqual([]);
  });
});
