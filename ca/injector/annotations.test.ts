import { describe, expect, it } from 'vitest';
import { planSidecar } from './annotations.js';

const TD = 'cluster.local';

describe('planSidecar', () => {
  it('defaults to no listeners and allowing the whole trust domain', () => {
    expect(planSidecar({}, TD)).toEqual({
      inbound: [],
      allow: ['spiffe://cluster.local/*'],
      outbound: [],
      tokenIssuer: null,
      inboundToken: null,
    });
  });

  it('reads inbound ports with optional protocols', () => {
    expect(planSidecar({ 'tether.io/inbound': '8080, 9000/tcp' }, TD).inbound).toEqual([
      { appPort: 8080, protocol: 'http' },
      { appPort: 9000, protocol: 'tcp' },
    ]);
  });

  it('reads outbound entries name=host:port@id with their token scopes', () => {
    const plan = planSidecar(
      {
        'tether.io/outbound':
          'orders=orders.shop:15006@spiffe://cluster.local/ns/shop/sa/orders,pay=pay.billing:15006@spiffe://cluster.local/ns/billing/sa/pay',
        'tether.io/outbound-token': 'orders=read:orders write:orders; pay=',
        'tether.io/token-issuer': 'https://tether-ca.tether-system.svc:8444',
      },
      TD,
    );
    expect(plan.outbound).toEqual([
      {
        name: 'orders',
        upstream: 'orders.shop:15006',
        serverId: 'spiffe://cluster.local/ns/shop/sa/orders',
        tokenScope: 'read:orders write:orders',
      },
      {
        name: 'pay',
        upstream: 'pay.billing:15006',
        serverId: 'spiffe://cluster.local/ns/billing/sa/pay',
        tokenScope: '',
      },
    ]);
  });

  const refused = (a: Record<string, string>, message: RegExp) =>
    expect(() => planSidecar(a, TD)).toThrow(
      expect.objectContaining({ code: 'ERR_ADMISSION_INVALID', message: expect.stringMatching(message) }),
    );

  it('names the annotation and the expected shape when a value is unusable', () => {
    refused({ 'tether.io/inbound': 'http' }, /tether.io\/inbound: "http" — expected ports/);
    refused({ 'tether.io/inbound': '70000' }, /tether.io\/inbound/);
    refused(
      { 'tether.io/outbound': 'orders=orders.shop:15006' },
      /tether.io\/outbound: .*expected entries like/,
    );
    refused(
      { 'tether.io/outbound': 'a=h:1@spiffe://cluster.local/x,a=h:2@spiffe://cluster.local/y' },
      /"a" appears twice/,
    );
    refused({ 'tether.io/token-issuer': 'http://plain' }, /tether.io\/token-issuer.*https/);
    refused({ 'tether.io/inbound-token-scopes': 'a"b' }, /tether.io\/inbound-token-scopes/);
  });

  it('refuses allow entries outside the trust domain', () => {
    refused(
      { 'tether.io/inbound-allow': 'spiffe://other.org/ns/a/sa/b' },
      /inbound-allow.*spiffe:\/\/cluster.local\//,
    );
  });

  it('needs a token issuer when tokens are required or requested', () => {
    refused({ 'tether.io/inbound-token-audience': 'orders' }, /tether.io\/token-issuer/);
    refused(
      {
        'tether.io/outbound': 'o=o.s:1@spiffe://cluster.local/ns/s/sa/o',
        'tether.io/outbound-token': 'o=read',
      },
      /tether.io\/token-issuer/,
    );
  });

  it('refuses token scopes for an outbound that does not exist', () => {
    refused(
      { 'tether.io/outbound-token': 'ghost=read', 'tether.io/token-issuer': 'https://as' },
      /names from tether.io\/outbound/,
    );
  });

  it('refuses inbound tokens on a tcp port', () => {
    refused(
      {
        'tether.io/inbound': '9000/tcp',
        'tether.io/inbound-token-audience': 'x',
        'tether.io/token-issuer': 'https://as',
      },
      /only http inbound ports with tokens/,
    );
  });
});
