import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { forwardableHeaders, xfccValue } from './http-headers.js';

describe('forwardableHeaders', () => {
  it('keeps end-to-end headers, including repeated ones', () => {
    const headers: IncomingHttpHeaders = {
      'content-type': 'application/json',
      accept: '*/*',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'r1',
    };
    expect(forwardableHeaders(headers)).toEqual(headers);
  });

  it('drops every hop-by-hop header', () => {
    const out = forwardableHeaders({
      connection: 'close',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'proxy-authenticate': 'Basic',
      'proxy-authorization': 'Basic abc',
      te: 'trailers',
      trailer: 'x-checksum',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'http2-settings': 'AAMAAABkAAQAAP__',
      host: 'orders',
    });
    expect(out).toEqual({ host: 'orders' });
  });

  it('drops headers named in Connection, whatever their case and spacing', () => {
    const out = forwardableHeaders({
      connection: 'keep-alive, X-Secret-Hop ,x-other',
      'x-secret-hop': '1',
      'x-other': '2',
      'x-kept': '3',
    });
    expect(out).toEqual({ 'x-kept': '3' });
  });

  it('drops HTTP/2 pseudo-headers', () => {
    const out = forwardableHeaders({
      ':method': 'GET',
      ':path': '/orders',
      ':authority': 'orders',
      ':scheme': 'https',
      'user-agent': 'curl',
    } as IncomingHttpHeaders);
    expect(out).toEqual({ 'user-agent': 'curl' });
  });

  it('drops the headers in the drop list', () => {
    const out = forwardableHeaders(
      { 'x-forwarded-client-cert': 'By=spoofed', authorization: 'Bearer t', accept: 'text/plain' },
      ['x-forwarded-client-cert', 'authorization'],
    );
    expect(out).toEqual({ accept: 'text/plain' });
  });

  it('skips undefined values', () => {
    expect(forwardableHeaders({ accept: undefined, 'x-a': 'b' })).toEqual({ 'x-a': 'b' });
  });

  it('does not change the incoming headers', () => {
    const headers: IncomingHttpHeaders = { connection: 'x-a', 'x-a': '1', 'x-b': '2' };
    forwardableHeaders(headers, ['x-b']);
    expect(headers).toEqual({ connection: 'x-a', 'x-a': '1', 'x-b': '2' });
  });
});

describe('xfccValue', () => {
  it("formats Envoy's By=…;Hash=…;URI=… value", () => {
    const hash = 'ab'.repeat(32);
    expect(
      xfccValue('spiffe://example.org/ns/shop/sa/orders', hash, 'spiffe://example.org/ns/shop/sa/web'),
    ).toBe(`By=spiffe://example.org/ns/shop/sa/orders;Hash=${hash};URI=spiffe://example.org/ns/shop/sa/web`);
  });
});
