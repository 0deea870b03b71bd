import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDir } from '../../test/helpers/ca-process.js';
import { type K8sIssuer, signingKey, startK8sIssuer } from '../../test/helpers/k8s-issuer.js';
import { DiscoveryKeySource, JwksFileKeySource } from './kubernetes-keys.js';

// Key sources against a real HTTPS issuer on 127.0.0.1 (test/helpers/k8s-issuer.ts), time injected.
let dir: string;
let issuer: K8sIssuer;
let ca: string;

beforeAll(async () => {
  dir = tempDir();
  issuer = await startK8sIssuer(dir);
  ca = readFileSync(issuer.caFile, 'utf8');
});

afterAll(async () => {
  await issuer?.close();
  removeDir(dir);
});

const jwksFetches = () => issuer.requests().filter((r) => r === '/openid/v1/jwks').length;

describe('DiscoveryKeySource', () => {
  it('loads keys through the discovery document, then serves them from cache', async () => {
    let now = 0;
    const source = new DiscoveryKeySource(issuer.url, ca, () => now);
    const before = jwksFetches();
    const first = await source.keys(false);
    expect(await source.keys(false)).toBe(first);
    now += 29_000;
    expect(await source.keys(true)).toBe(first); // refresh asked for within the 30 s cooldown
    expect(jwksFetches()).toBe(before + 1);
    now += 2_000;
    expect(await source.keys(true)).not.toBe(first);
    expect(jwksFetches()).toBe(before + 2);
  });

  it('refuses a discovery document that names another issuer', async () => {
    const source = new DiscoveryKeySource(`${issuer.url}/other`, ca, () => 0);
    await expect(source.keys(false)).rejects.toMatchObject({ code: 'ERR_CA_NOT_READY' });
  });

  it('refuses an issuer whose certificate the roots do not verify', async () => {
    const source = new DiscoveryKeySource(issuer.url, undefined, () => 0);
    await expect(source.keys(false)).rejects.toMatchObject({ code: 'ERR_CA_NOT_READY' });
  });
});

describe('JwksFileKeySource', () => {
  it('re-reads the file when it changes', async () => {
    const file = path.join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify(issuer.jwks()));
    const source = new JwksFileKeySource(file);
    const first = await source.keys();
    expect(await source.keys()).toBe(first);
    const next = await signingKey('ES256');
    writeFileSync(file, JSON.stringify({ keys: [next.jwk] }));
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    expect(await source.keys()).not.toBe(first);
  });

  it('refuses a file that is not a JWKS', async () => {
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, '{"kty":"RSA"}');
    await expect(new JwksFileKeySource(file).keys()).rejects.toThrow(/not a JWKS/);
  });
});
