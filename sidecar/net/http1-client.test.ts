import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type BodyFraming,
  Http1Pool,
  parseResponseHead,
  requestHead,
  type UpstreamResponse,
} from './http1-client.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function listening(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A raw TCP upstream that answers each request head with `reply(n)` (n = request number), written in `pieces`. */
async function rawUpstream(reply: (n: number) => string | Buffer, pieces = 1) {
  const state = { connections: 0, requests: [] as string[] };
  const server = net.createServer((c) => {
    state.connections++;
    let buf = '';
    c.on('data', async (d) => {
      buf += d.toString('latin1');
      while (buf.includes('\r\n\r\n')) {
        const end = buf.indexOf('\r\n\r\n') + 4;
        state.requests.push(buf.slice(0, end));
        buf = buf.slice(end);
        const out = Buffer.from(reply(state.requests.length));
        const step = Math.ceil(out.length / pieces);
        for (let i = 0; i < out.length; i += step) {
          c.write(out.subarray(i, i + step));
          if (pieces > 1) await new Promise((r) => setTimeout(r, 2));
        }
      }
    });
    c.on('error', () => undefined);
    closers.push(() => c.destroy());
  });
  return { port: await listening(server), state };
}

function poolTo(port: number, connectTimeoutMs?: number): Http1Pool {
  const pool = new Http1Pool({
    open: () => net.connect(port, '127.0.0.1'),
    readyEvent: 'connect',
    ...(connectTimeoutMs ? { connectTimeoutMs } : {}),
  });
  closers.push(() => pool.close());
  return pool;
}

interface Result {
  status: number;
  headers: UpstreamResponse['headers'];
  body: string;
}

function exchange(
  pool: Http1Pool,
  o: { method?: string; path?: string; body?: string[]; framing?: BodyFraming; timeoutMs?: number } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const framing = o.framing ?? (o.body ? 'chunked' : 'none');
    const headers: http.OutgoingHttpHeaders = { host: 'upstream' };
    if (framing === 'length') headers['content-length'] = String((o.body ?? []).join('').length);
    const req = pool.request(o.method ?? 'GET', o.path ?? '/', headers, framing);
    if (o.timeoutMs)
      req.setTimeout(o.timeoutMs, () => req.destroy(Object.assign(new Error('t'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res: UpstreamResponse) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    for (const part of o.body ?? []) req.write(part);
    req.end();
  });
}

describe('requestHead', () => {
  it('writes the request line, repeated headers and the framing header', () => {
    expect(
      requestHead('POST', '/a?b=1', { host: 'h', 'x-a': ['1', '2'], 'content-length': '5' }, 'chunked'),
    ).toBe('POST /a?b=1 HTTP/1.1\r\nhost: h\r\nx-a: 1\r\nx-a: 2\r\ntransfer-encoding: chunked\r\n\r\n');
  });

  it('names the upstream in Host when the request has none, and keeps a Host it has', () => {
    expect(requestHead('GET', '/', {}, 'none', '127.0.0.1:8080')).toBe(
      'GET / HTTP/1.1\r\nhost: 127.0.0.1:8080\r\n\r\n',
    );
    expect(requestHead('GET', '/', { host: 'app' }, 'none', '127.0.0.1:8080')).toBe(
      'GET / HTTP/1.1\r\nhost: app\r\n\r\n',
    );
  });

  it('refuses what would let a header or request be injected', () => {
    expect(() => requestHead('GET', '/', { 'x-a': 'v\r\nx-evil: 1' }, 'none')).toThrow(
      /invalid value in header x-a/,
    );
    expect(() => requestHead('GET', '/', { 'x a': 'v' }, 'none')).toThrow(/invalid header name/);
    expect(() => requestHead('GET', '/ HTTP/1.1\r\nx: y', {}, 'none')).toThrow(/invalid request target/);
    expect(() => requestHead('G ET', '/', {}, 'none')).toThrow(/invalid method/);
  });
});

describe('parseResponseHead', () => {
  it('reads status, lower-cased headers, joined repeats and set-cookie as an array', () => {
    const h = parseResponseHead(
      'HTTP/1.1 201 Created\r\nX-A: 1\r\nx-a: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2',
    );
    expect(h).toEqual({ status: 201, minor: 1, headers: { 'x-a': '1, 2', 'set-cookie': ['a=1', 'b=2'] } });
  });

  it('refuses a bad status line, a header without a colon and conflicting lengths', () => {
    expect(() => parseResponseHead('HTTP/2 200 OK')).toThrow(/invalid status line/);
    expect(() => parseResponseHead('HTTP/1.1 200 OK\r\nno colon')).toThrow(/invalid header line/);
    expect(() => parseResponseHead('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2')).toThrow(
      /conflicting content-length/,
    );
  });
});

describe('Http1Pool against a node:http server', () => {
  it('reuses one connection for sequential requests and carries length and chunked bodies', async () => {
    let connections = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () =>
        res.end(`${req.method} ${req.url} te=${req.headers['transfer-encoding'] ?? '-'} ${body}`),
      );
    });
    server.on('connection', () => connections++);
    const pool = poolTo(await listening(server));
    expect((await exchange(pool, { path: '/one' })).body).toBe('GET /one te=- ');
    expect((await exchange(pool, { method: 'POST', body: ['ab', 'cd'], framing: 'length' })).body).toBe(
      'POST / te=- abcd',
    );
    expect((await exchange(pool, { method: 'POST', body: ['x'.repeat(70_000), 'yz'] })).body).toBe(
      `POST / te=chunked ${'x'.repeat(70_000)}yz`,
    );
    expect((await exchange(pool, { method: 'HEAD' })).body).toBe('');
    expect((await exchange(pool, { path: '/last' })).body).toBe('GET /last te=- ');
    expect(connections).toBe(1);
  });

  it('runs concurrent requests on separate connections', async () => {
    const server = http.createServer((req, res) => setTimeout(() => res.end(req.url), 20));
    const pool = poolTo(await listening(server));
    const all = await Promise.all(Array.from({ length: 20 }, (_, i) => exchange(pool, { path: `/${i}` })));
    expect(all.map((r) => r.body)).toEqual(Array.from({ length: 20 }, (_, i) => `/${i}`));
  });

  it('opens at most maxConnections at once and runs the rest as connections come back', async () => {
    let open = 0;
    let most = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => setTimeout(() => res.end(`${req.url} ${body}`), 30));
    });
    server.on('connection', (s) => {
      most = Math.max(most, ++open);
      s.on('close', () => open--);
    });
    const port = await listening(server);
    const pool = new Http1Pool({
      open: () => net.connect(port, '127.0.0.1'),
      readyEvent: 'connect',
      maxConnections: 2,
    });
    closers.push(() => pool.close());
    const all = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        exchange(pool, { path: `/${i}`, body: [`b${i}`], framing: 'length' }),
      ),
    );
    expect(all.map((r) => r.body)).toEqual(Array.from({ length: 6 }, (_, i) => `/${i} b${i}`));
    expect(most).toBe(2);
  });

  it('sends a bodiless request again on a new connection when the idle one was closed by the upstream', async () => {
    const server = http.createServer((req, res) => res.end(req.url));
    server.keepAliveTimeout = 100_000;
    let sockets: net.Socket[] = [];
    server.on('connection', (s) => sockets.push(s));
    const pool = poolTo(await listening(server));
    expect((await exchange(pool, { path: '/a' })).body).toBe('/a');
    for (const s of sockets) s.destroy(); // the upstream drops the idle connection
    sockets = [];
    expect((await exchange(pool, { path: '/b' })).body).toBe('/b');
  });
});

describe('Http1Pool response framing (raw upstream)', () => {
  it('decodes a chunked body delivered a few bytes at a time, dropping trailers', async () => {
    const body = '5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n';
    const up = await rawUpstream(() => `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${body}`, 20);
    const pool = poolTo(up.port);
    expect(await exchange(pool)).toMatchObject({ status: 200, body: 'hello, world' });
    expect((await exchange(pool)).body).toBe('hello, world');
    expect(up.state.connections).toBe(1);
  });

  it('skips 100 and 103 interim responses', async () => {
    const up = await rawUpstream(
      () =>
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok',
    );
    expect(await exchange(poolTo(up.port))).toMatchObject({ status: 200, body: 'ok' });
  });

  it('reads a body without length to the end of the connection and does not reuse it', async () => {
    const server = net.createServer((c) => c.once('data', () => c.end('HTTP/1.1 200 OK\r\n\r\nuntil close')));
    const port = await listening(server);
    const pool = poolTo(port);
    expect((await exchange(pool)).body).toBe('until close');
    expect((await exchange(pool)).body).toBe('until close');
  });

  it('has no body for 204 and 304 and keeps the connection', async () => {
    const up = await rawUpstream((n) =>
      n === 1 ? 'HTTP/1.1 204 No Content\r\n\r\n' : 'HTTP/1.1 304 Not Modified\r\netag: "a"\r\n\r\n',
    );
    const pool = poolTo(up.port);
    expect(await exchange(pool)).toMatchObject({ status: 204, body: '' });
    expect(await exchange(pool)).toMatchObject({ status: 304, body: '' });
    expect(up.state.connections).toBe(1);
  });

  it('does not reuse a connection the upstream asked to close', async () => {
    const up = await rawUpstream(() => 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nx');
    const pool = poolTo(up.port);
    await exchange(pool);
    await exchange(pool);
    expect(up.state.connections).toBe(2);
  });

  it.each([
    ['a garbage status line', 'SSH-2.0-OpenSSH\r\n\r\n', /invalid status line/],
    [
      'both content-length and transfer-encoding',
      'HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n',
      /both transfer-encoding/,
    ],
    [
      'a bad chunk size',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n',
      /malformed chunk size/,
    ],
    [
      'bytes after the body',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n\r\n',
      /bytes after the response/,
    ],
    [
      'a non-numeric content-length',
      'HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\n',
      /invalid content-length/,
    ],
    ['an unasked protocol switch', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', /switched protocols/],
  ])('fails with ERR_UPSTREAM_RESPONSE on %s', async (_what, reply, message) => {
    const up = await rawUpstream(() => reply);
    const err = await exchange(poolTo(up.port)).catch((e: NodeJS.ErrnoException) => e);
    expect(err).toMatchObject({ code: 'ERR_UPSTREAM_RESPONSE', message: expect.stringMatching(message) });
  });

  it('fails on a response head larger than 64 KiB', async () => {
    const up = await rawUpstream(() => `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(70_000)}\r\n\r\n`);
    await expect(exchange(poolTo(up.port))).rejects.toMatchObject({ code: 'ERR_UPSTREAM_RESPONSE' });
  });

  it('fails with ECONNRESET when the upstream closes mid-body, ECONNREFUSED when nobody listens', async () => {
    const server = net.createServer((c) =>
      c.once('data', () => c.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc')),
    );
    const pool = poolTo(await listening(server));
    await expect(exchange(pool)).rejects.toMatchObject({ code: 'ECONNRESET' });
    const free = net.createServer();
    const port = await listening(free);
    free.close();
    await expect(exchange(poolTo(port))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('fails a connection that is not up within connectTimeoutMs with ETIMEDOUT, on the socket too', async () => {
    const silent = net.createServer(() => undefined); // accepts TCP, never answers the TLS hello
    const port = await listening(silent);
    const socketErrors: string[] = [];
    const pool = new Http1Pool({
      open: () => {
        const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
        s.once('error', (e: NodeJS.ErrnoException) => socketErrors.push(String(e.code)));
        return s;
      },
      readyEvent: 'secureConnect',
      connectTimeoutMs: 200,
    });
    closers.push(() => pool.close());
    await expect(exchange(pool, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
      message: 'connect timed out',
    });
    expect(socketErrors).toEqual(['ETIMEDOUT']);
  });

  it('calls the timeout handler when the upstream goes quiet', async () => {
    const server = net.createServer(() => undefined); // accepts, never answers
    const started = Date.now();
    await expect(exchange(poolTo(await listening(server)), { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
