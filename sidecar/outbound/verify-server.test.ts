import type tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { makeLeafWithSans } from '../../test/helpers/odd-leaf.js';
import { HOUR_MS, makeIntermediate, makeLeaf, makeRoot } from '../../test/helpers/pki.js';
import { serverIdentityCheck } from './verify-server.js';

const now = Date.UTC(2030, 0, 1, 12, 0, 0);
const validity = { notBefore: new Date(now - 60_000), notAfter: new Date(now + HOUR_MS) };
const root = makeRoot(new Date(now - HOUR_MS), new Date(now + 100 * HOUR_MS));
const intermediate = makeIntermediate(
  root,
  'example.org',
  new Date(now - HOUR_MS),
  new Date(now + 50 * HOUR_MS),
);
const ORDERS = 'spiffe://example.org/ns/shop/sa/orders';

const peer = (raw: Buffer | undefined) => ({ raw }) as unknown as tls.PeerCertificate;

function refusal(result: Error | undefined): Error & { code?: string } {
  expect(result).toBeInstanceOf(Error);
  return result as Error & { code?: string };
}

describe('serverIdentityCheck', () => {
  const check = serverIdentityCheck(ORDERS);

  it('accepts a server presenting exactly the expected SPIFFE ID', () => {
    expect(check('127.0.0.1', peer(makeLeaf(intermediate, ORDERS, validity)))).toBeUndefined();
  });

  it('ignores the host name', () => {
    const raw = makeLeaf(intermediate, ORDERS, { ...validity, dnsNames: ['orders.example.org'] });
    expect(check('not-orders.example.com', peer(raw))).toBeUndefined();
  });

  it('refuses a server with a different SPIFFE ID', () => {
    const raw = makeLeaf(intermediate, 'spiffe://example.org/ns/shop/sa/web', validity);
    const err = refusal(check('127.0.0.1', peer(raw)));
    expect(err.code).toBe('ERR_TETHER_WRONG_SERVER_ID');
    expect(err.message).toContain('spiffe://example.org/ns/shop/sa/web');
    expect(err.message).toContain(ORDERS);
  });

  it('refuses an ID that only starts with the expected one', () => {
    const raw = makeLeaf(intermediate, `${ORDERS}/extra`, validity);
    expect(refusal(check('127.0.0.1', peer(raw))).code).toBe('ERR_TETHER_WRONG_SERVER_ID');
  });

  it('refuses a certificate with two URI SANs even when one is the expected ID', () => {
    const raw = makeLeafWithSans(intermediate, { uris: [ORDERS, 'spiffe://example.org/other'] }, validity);
    expect(refusal(check('127.0.0.1', peer(raw))).code).toBe('ERR_TETHER_WRONG_SERVER_ID');
    const reversed = makeLeafWithSans(
      intermediate,
      { uris: ['spiffe://example.org/other', ORDERS] },
      validity,
    );
    expect(refusal(check('127.0.0.1', peer(reversed))).code).toBe('ERR_TETHER_WRONG_SERVER_ID');
  });

  it('refuses a certificate without a URI SAN', () => {
    const raw = makeLeafWithSans(intermediate, { uris: [], dnsNames: ['orders.example.org'] }, validity);
    const err = refusal(check('orders.example.org', peer(raw)));
    expect(err.code).toBe('ERR_TETHER_WRONG_SERVER_ID');
    expect(err.message).toContain('no SPIFFE ID');
  });

  it('refuses a peer certificate without raw DER', () => {
    expect(refusal(check('127.0.0.1', peer(undefined))).code).toBe('ERR_TETHER_WRONG_SERVER_ID');
  });
});
