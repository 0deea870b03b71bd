import { describe, expect, it } from 'vitest';
import { parseServiceAccountUser, readKubernetesClaims, refuseLegacyToken } from './kubernetes-claims.js';

const projected = () => ({
  iss: 'https://kubernetes.default.svc',
  sub: 'system:serviceaccount:shop:web',
  exp: 2_000_000_000,
  'kubernetes.io': {
    namespace: 'shop',
    pod: { name: 'web-1', uid: 'u-1' },
    serviceaccount: { name: 'web', uid: 'u-2' },
  },
});

describe('refuseLegacyToken', () => {
  it('refuses the kubernetes/serviceaccount issuer of secret-based tokens', () => {
    expect(() => refuseLegacyToken({ ...projected(), iss: 'kubernetes/serviceaccount' })).toThrow(/legacy/);
  });

  it('refuses the flat kubernetes.io/serviceaccount/* claims of secret-based tokens', () => {
    expect(() =>
      refuseLegacyToken({ ...projected(), 'kubernetes.io/serviceaccount/namespace': 'shop' }),
    ).toThrow(/legacy/);
  });

  it('refuses a token without exp', () => {
    const { exp: _exp, ...noExp } = projected();
    expect(() => refuseLegacyToken(noExp)).toThrow(/non-expiring/);
  });

  it('lets a projected token through', () => {
    expect(() => refuseLegacyToken(projected())).not.toThrow();
  });
});

describe('readKubernetesClaims', () => {
  it('reads namespace, service account and the bound pod', () => {
    expect(readKubernetesClaims(projected())).toEqual({
      namespace: 'shop',
      serviceAccount: 'web',
      podName: 'web-1',
      podUid: 'u-1',
    });
  });

  it('refuses a token not bound to a pod', () => {
    const t = projected();
    delete (t['kubernetes.io'] as Record<string, unknown>)['pod'];
    expect(() => readKubernetesClaims(t)).toThrow(/not bound to a pod/);
  });

  it('refuses a sub that disagrees with the kubernetes.io claims', () => {
    expect(() => readKubernetesClaims({ ...projected(), sub: 'system:serviceaccount:shop:admin' })).toThrow(
      /sub does not match/,
    );
  });

  it('refuses a namespace that could not exist (path traversal in the SPIFFE ID)', () => {
    const t = projected();
    t['kubernetes.io'].namespace = '../etc';
    expect(() => readKubernetesClaims({ ...t, sub: 'system:serviceaccount:../etc:web' })).toThrow(
      /namespace is missing or malformed/,
    );
  });

  it('refuses a token without a kubernetes.io claim', () => {
    expect(() => readKubernetesClaims({ sub: 'x' })).toThrow(/no kubernetes.io claim/);
  });

  it('refuses with ERR_CREDENTIAL_INVALID', () => {
    expect(() => readKubernetesClaims({})).toThrow(
      expect.objectContaining({ code: 'ERR_CREDENTIAL_INVALID' }),
    );
  });
});

describe('parseServiceAccountUser', () => {
  it('splits system:serviceaccount:<ns>:<sa>', () => {
    expect(parseServiceAccountUser('system:serviceaccount:shop:web')).toEqual({
      namespace: 'shop',
      serviceAccount: 'web',
    });
  });

  it('refuses users that are not service accounts', () => {
    expect(() => parseServiceAccountUser('kubernetes-admin')).toThrow(/not a service account/);
    expect(() => parseServiceAccountUser('system:serviceaccount:Shop:web')).toThrow(/not a service account/);
  });
});
