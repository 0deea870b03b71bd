import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logging.js';
import type { AttestationInput } from './attestor.js';
import { KubernetesAttestor, kubernetesSpiffeId } from './kubernetes.js';
import type { KubernetesIdentity } from './kubernetes-claims.js';
import type { TokenVerifier } from './kubernetes-jwt.js';

const log = createLogger({ level: 'silent' });
const verifier = (id: Partial<KubernetesIdentity> = {}): TokenVerifier & { seen: string[] } => {
  const seen: string[] = [];
  return {
    seen,
    verify: async (token) => {
      seen.push(token);
      return { namespace: 'shop', serviceAccount: 'web', podName: 'p', podUid: 'u', ...id };
    },
  };
};
const input = (token: string): AttestationInput => ({
  credential: { kind: 'kubernetes_token', token },
  peer: { address: '127.0.0.1:5000', certificate: null },
  now: 0,
});

describe('KubernetesAttestor', () => {
  it('attests spiffe://<td>/ns/<namespace>/sa/<service account> with no DNS names', async () => {
    const a = new KubernetesAttestor({
      trustDomain: 'example.org',
      verifier: verifier(),
      allowNamespaces: [],
      log,
    });
    const att = await a.attest(input(' tok\n'));
    expect(att.spiffeId.toString()).toBe('spiffe://example.org/ns/shop/sa/web');
    expect(att).toMatchObject({ dnsNames: [], attestor: 'kubernetes', redemption: null });
  });

  it('handles only kubernetes_token credentials', () => {
    const a = new KubernetesAttestor({
      trustDomain: 'example.org',
      verifier: verifier(),
      allowNamespaces: [],
      log,
    });
    expect(a.handles(input('t'))).toBe(true);
    expect(a.handles({ ...input('t'), credential: { kind: 'join_token', token: 't' } })).toBe(false);
  });

  it('refuses namespaces outside the allow-list with ERR_NAMESPACE_NOT_ALLOWED', async () => {
    const a = new KubernetesAttestor({
      trustDomain: 'example.org',
      verifier: verifier({ namespace: 'default' }),
      allowNamespaces: ['shop'],
      log,
    });
    await expect(a.attest(input('t'))).rejects.toMatchObject({
      code: 'ERR_NAMESPACE_NOT_ALLOWED',
      message: expect.stringMatching(/namespace default/),
    });
  });

  it('refuses an empty token as missing and an oversized one without verifying it', async () => {
    const v = verifier();
    const a = new KubernetesAttestor({ trustDomain: 'example.org', verifier: v, allowNamespaces: [], log });
    await expect(a.attest(input('  '))).rejects.toMatchObject({ code: 'ERR_CREDENTIAL_MISSING' });
    await expect(a.attest(input('x'.repeat(20_000)))).rejects.toMatchObject({
      code: 'ERR_CREDENTIAL_INVALID',
    });
    expect(v.seen).toEqual([]);
  });

  it('builds IDs through the SPIFFE-ID parser', () => {
    expect(kubernetesSpiffeId('cluster.local', { namespace: 'a', serviceAccount: 'b.c' }).toString()).toBe(
      'spiffe://cluster.local/ns/a/sa/b.c',
    );
  });
});
