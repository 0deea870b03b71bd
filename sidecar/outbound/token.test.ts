import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Svid } from '../identity/svid.js';
import { type ProxyRequest, type ProxyResponse, proxyHttp } from '../net/http-proxy.js';
import { Http1Pool, type UpstreamResponse } from '../net/http1-client.js';
import { forwardWithToken, isReplayable, type TokenSource } from './token.js';

const log = pino({ level: 'silent' });
const svid = {} as Svid; // forwardWithToken only passes it through to the token source

/** A token source handing out t1, t2, … and remembering which tokens were invalidated. */
function countingTokens(failWith?: Error): TokenSource & { issued: number; invalidated: string[] } {
  const state = {
    issued: 0,
    invalidated: [] as string[],
    async get() {
      if (failWith) throw failWith;
      state.issued += 1;
      return `t${state.issued}`;
    },
    invalidate(_svid: Svid, token: string) {
      state.invalidated.push(token);
    },
  };
  return state;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** Upstream that accepts only `Bearer <good>`, answering RFC 6750 invalid_token otherwise. */
async function upstreamAccepting(good: string, seen: string[]): Promise<number> {
  return listen((req, res) => {
    seen.push(req.headers.authorization ?? '');
    req.resume();
    if (req.headers.authorization === `Bearer ${good}`) res.end('ok');
    else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end('no');
  });
}

/** A proxy in front of `upstreamPort` that forwards every request through forwardWithToken. */
async function proxyWith(tokens: TokenSource, upstreamPort: number): Promise<number> {
  const pool = new Http1Pool({
    open: () => net.connect(upstreamPort, '127.0.0.1'),
    readyEvent: 'connect',
  });
  return listen((req, res) => {
    const send = (extra: http.OutgoingHttpHeaders, intercept?: (up: UpstreamResponse) => boolean) =>
      proxyHttp(
        req as ProxyRequest,
        res as ProxyResponse,
        {
          send: (headers, framing) => pool.request(req.method ?? 'GET', req.url ?? '/', headers, framing),
          timeoutMs: 5_000,
          log,
          logFields: {},
          ...(intercept ? { intercept } : {}),
        },
        extra,
      );
    void forwardWithToken(req as ProxyRequest, res as ProxyResponse, svid, tokens, send, log);
  });
}

async function call(port: number, method: string, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: '/x' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('forwardWithToken', () => {
  it('refreshes the token once and replays a bodiless GET the upstream refused as invalid_token', async () => {
    const seen: string[] = [];
    const tokens = countingTokens();
    const proxy = await proxyWith(tokens, await upstreamAccepting('t2', seen));
    const r = await call(proxy, 'GET');
    expect(r).toEqual({ status: 200, body: 'ok' });
    expect(seen).toEqual(['Bearer t1', 'Bearer t2']);
    expect(tokens.invalidated).toEqual(['t1']);
  });

  it('retries only once: a second invalid_token reaches the client as the upstream’s 401', async () => {
    const seen: string[] = [];
    const tokens = countingTokens();
    const proxy = await proxyWith(tokens, await upstreamAccepting('never', seen));
    const r = await call(proxy, 'GET');
    expect(r.status).toBe(401);
    expect(seen).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('never replays a POST with a body: the client gets the 401 and the body is sent once', async () => {
    const seen: string[] = [];
    const tokens = countingTokens();
    const proxy = await proxyWith(tokens, await upstreamAccepting('t2', seen));
    const r = await call(proxy, 'POST', 'payment');
    expect(r.status).toBe(401);
    expect(seen).toEqual(['Bearer t1']);
    expect(tokens.invalidated).toEqual([]);
  });

  it('answers 503 token_unavailable without contacting the upstream when no token can be had', async () => {
    const seen: string[] = [];
    const proxy = await proxyWith(countingTokens(new Error('AS down')), await upstreamAccepting('t1', seen));
    const r = await call(proxy, 'GET');
    expect(r.status).toBe(503);
    expect(seen).toEqual([]);
  });
});

describe('isReplayable', () => {
  const req = (method: string, headers: Record<string, string> = {}) => ({ method, headers }) as ProxyRequest;
  it('replays idempotent bodiless requests only', () => {
    expect(isReplayable(req('GET'))).toBe(true);
    expect(isReplayable(req('DELETE', { 'content-length': '0' }))).toBe(true);
    expect(isReplayable(req('PUT', { 'content-length': '3' }))).toBe(false);
    expect(isReplayable(req('GET', { 'transfer-encoding': 'chunked' }))).toBe(false);
    expect(isReplayable(req('POST'))).toBe(false);
    expect(isReplayable(req('PATCH'))).toBe(false);
  });
});
