import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TetherError } from '../../common/errors.js';
import { loadSidecarConfig } from './load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tether-sidecar-token-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function load(inbound: string, outbound: string) {
  const file = path.join(dir, `sidecar-${n++}.yaml`);
  writeFileSync(
    file,
    [
      'trustDomain: example.org',
      'ca: { address: 127.0.0.1:8443, bundleFile: ./bundle.pem }',
      'inbound:',
      `  - { name: orders, listen: 0.0.0.0:15006, forward: 127.0.0.1:8080, allow: [spiffe://example.org/ns/shop/sa/web]${inbound} }`,
      'outbound:',
      `  - { name: orders, listen: 127.0.0.1:15001, upstream: 127.0.0.1:15006, serverId: spiffe://example.org/ns/shop/sa/orders${outbound} }`,
    ].join('\n'),
  );
  return loadSidecarConfig(file);
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect((err as TetherError).code).toBe('ERR_CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected the config to be refused');
}

describe('token settings', () => {
  it('reads inbound and outbound token settings with defaults', () => {
    const c = load(
      ', token: { issuer: "https://as.example:8444", audience: orders, scopes: [read:orders], paths: [{ prefix: /admin, scopes: [admin] }] }',
      ', token: { issuer: "https://as.example:8444", audience: "https://orders.example.org", scope: "read:orders write:orders" }',
    );
    expect(c.inbound[0]!.token).toEqual({
      issuer: 'https://as.example:8444',
      audience: 'orders',
      scopes: ['read:orders'],
      mode: 'jwt',
      caFile: undefined,
      paths: [{ prefix: '/admin', scopes: ['admin'] }],
    });
    expect(c.outbound[0]!.token).toEqual({
      issuer: 'https://as.example:8444',
      audience: 'https://orders.example.org',
      scope: 'read:orders write:orders',
      caFile: undefined,
    });
    expect(load('', '').inbound[0]!.token).toBeUndefined();
  });

  it('refuses token on tcp listeners, naming the key', () => {
    const message = refusal(() =>
      load(
        ', protocol: tcp, token: { issuer: "https://as", audience: a }',
        ', protocol: tcp, token: { issuer: "https://as", audience: a }',
      ),
    );
    expect(message).toContain('inbound.0.token: bearer tokens need protocol: http');
    expect(message).toContain('outbound.0.token: bearer tokens need protocol: http');
  });

  it('refuses a plain-http issuer and an unknown mode', () => {
    const message = refusal(() => load(', token: { issuer: "http://as", audience: a, mode: opaque }', ''));
    expect(message).toContain('inbound.0.token.issuer');
    expect(message).toContain('inbound.0.token.mode');
  });
});
