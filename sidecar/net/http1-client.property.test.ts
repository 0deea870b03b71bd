// Property tests for the upstream HTTP/1.1 client's response parser, over a real loopback socket:
// a valid response (content-length or chunked, with 1xx before it) split at arbitrary points
// always yields exactly its status and body; arbitrary bytes (or a valid response with bytes
// flipped) always end the exchange with a response or a coded error, never a throw or a hang.
import net, { type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Http1Pool, type UpstreamResponse } from './http1-client.js';

/** What the raw upstream sends for the next connection: the pieces, written one by one. */
let nextReply: Buffer[] = [];
let server: net.Server;
let port = 0;

beforeAll(async () => {
  server = net.createServer((c) => {
    const pieces = nextReply;
    c.on('error', () => undefined);
    c.once('data', async () => {
      for (const p of pieces) {
        if (c.destroyed) return;
        c.write(p);
        await new Promise((r) => setImmediate(r));
      }
      c.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

type Outcome = { status: number; body: Buffer } | { code: string };

/** One exchange on a fresh pool (so each run gets its own connection and reply). */
function exchange(pieces: Buffer[], method = 'GET'): Promise<Outcome> {
  nextReply = pieces;
  const pool = new Http1Pool({ open: () => net.connect(port, '127.0.0.1'), readyEvent: 'connect' });
  return new Promise<Outcome>((resolve) => {
    const req = pool.request(method, '/', { host: 'x' }, 'none');
    req.setTimeout(3000, () => req.destroy(Object.assign(new Error('hang'), { code: 'HANG' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: String(err.code) }));
    req.on('response', (res: UpstreamResponse) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ code: String(err.code) }));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.end();
  }).finally(() => pool.close());
}

/** Splits `b` at the given fractions into pieces. */
function split(b: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => Math.floor(c * b.length)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const a of [...at, b.length]) {
    if (a > prev) out.push(b.subarray(prev, a));
    prev = Math.max(prev, a);
  }
  return out;
}

function chunkedBody(parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts)
    if (p.length) out.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'));
  out.push(Buffer.from('0\r\nx-t: 1\r\n\r\n'));
  return Buffer.concat(out);
}

const bodyParts = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 5 });
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });

describe('the upstream response parser', () => {
  it('reads any valid response split anywhere into exactly its status and body', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 304),
        bodyParts,
        fc.boolean(),
        fc.boolean(),
        cuts,
        async (status, parts, chunked, interim, at) => {
          const body = Buffer.concat(parts.map((p) => Buffer.from(p)));
          const head = `${interim ? 'HTTP/1.1 100 Continue\r\n\r\n' : ''}HTTP/1.1 ${status} X\r\n${
            chunked ? 'transfer-encoding: chunked' : `content-length: ${body.length}`
          }\r\n\r\n`;
          const wire = Buffer.concat([
            Buffer.from(head),
            chunked ? chunkedBody(parts.map((p) => Buffer.from(p))) : body,
          ]);
          const got = await exchange(split(wire, at));
          expect(got).toEqual({ status, body });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('ends every exchange on arbitrary or corrupted bytes with a response or a coded error', async () => {
    const valid = Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      fc
        .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        })
        .map((flips) => {
          const b = Buffer.from(valid);
          for (const [i, v] of flips) b[i] = v;
          return b;
        }),
    );
    await fc.assert(
      fc.asyncProperty(hostile, cuts, async (bytes, at) => {
        const got = await exchange(split(bytes, at));
        if ('code' in got) expect(got.code).toMatch(/^(ERR_UPSTREAM_RESPONSE|ECONNRESET)$/);
        else expect(got.status).toBeGreaterThanOrEqual(200);
      }),
      { numRuns: 80 },
    );
  });
});
