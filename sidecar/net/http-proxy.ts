// Forwards one HTTP request (HTTP/1.1 or HTTP/2 on the client side) to an upstream over the lean
// HTTP/1.1 client (http1-client.ts) and streams the response back: header hygiene, body framing,
// a request timeout (504), upstream failures (502), and cancellation when the client goes away.
import type http from 'node:http';
import type http2 from 'node:http2';
import { Transform, type TransformCallback } from 'node:stream';
import type { Logger } from '../../common/logging.js';
import { forwardableHeaders } from './http-headers.js';
import type { BodyFraming, UpstreamRequest, UpstreamResponse } from './http1-client.js';

export type ProxyRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type ProxyResponse = http.ServerResponse | http2.Http2ServerResponse;

export interface ProxyTarget {
  /** Starts the upstream request with the prepared headers (throws ERR_INVALID_HTTP_REQUEST). */
  readonly send: (headers: http.OutgoingHttpHeaders, framing: BodyFraming) => UpstreamRequest;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly logFields: Record<string, unknown>;
  /** Sees the upstream response first; returning true means it was handled (e.g. a retry). */
  readonly intercept?: (up: UpstreamResponse) => boolean;
  /** Request bodies larger than this are answered 413 and never reach the upstream in full. */
  readonly maxBodyBytes?: number | undefined;
}

/** 413, closing an HTTP/1 connection so the unread rest of the body is not parsed as a request. */
function refuseBody(req: ProxyRequest, res: ProxyResponse, limit: number): void {
  if (req.httpVersionMajor === 1 && !res.headersSent) res.setHeader('connection', 'close');
  replyText(res, 413, `request body is larger than ${limit} bytes`, 'body_too_large');
}

/** Passes a body through until it exceeds `limit` bytes, then fails (the oversized chunk is not passed). */
class BodyLimit extends Transform {
  private seen = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) done(new Error('body too large'));
    else done(null, chunk);
  }
}

/** Streams the upstream body into the response with backpressure (a lighter `pipe`). */
function relayBody(up: UpstreamResponse, res: ProxyResponse): void {
  const out = res as http.ServerResponse;
  up.on('data', (chunk: Buffer) => {
    if (!out.write(chunk)) {
      up.pause();
      out.once('drain', () => up.resume());
    }
  });
  up.once('end', () => out.end());
}

/**
 * How the request body travels upstream: with its content-length, re-chunked (an HTTP/1 chunked
 * body, or an HTTP/2 body of unknown length), or not at all.
 */
function bodyFraming(req: ProxyRequest): BodyFraming {
  if (req.readableEnded) return 'none'; // a retry: only bodiless requests are retried
  if (req.headers['content-length'] !== undefined) return 'length';
  if (req.httpVersionMajor === 2) {
    return (req as http2.Http2ServerRequest).stream.endAfterHeaders ? 'none' : 'chunked';
  }
  return req.headers['transfer-encoding'] !== undefined ? 'chunked' : 'none';
}

/** Plain-text reply with a machine-readable reason header; destroys the stream if headers already went out. */
export function replyText(res: ProxyResponse, status: number, text: string, reason?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' };
  if (reason) headers['x-tether-reason'] = reason;
  res.writeHead(status, headers);
  res.end(`${text}\n`);
}

/** Proxies `req` to the target; `extra` headers are set after hygiene (and `drop` removed). */
export function proxyHttp(
  req: ProxyRequest,
  res: ProxyResponse,
  target: ProxyTarget,
  extra: http.OutgoingHttpHeaders = {},
  drop: readonly string[] = [],
): void {
  if (req.httpVersionMajor < 1) {
    // HTTP/0.9 has no headers or framing to carry on; llhttp still parses it.
    replyText(res, 505, 'HTTP/1.1 or HTTP/2 required', 'http_version_unsupported');
    return;
  }
  const limit = target.maxBodyBytes;
  if (limit !== undefined && Number(req.headers['content-length'] ?? 0) > limit) {
    refuseBody(req, res, limit);
    return;
  }
  const headers = forwardableHeaders(req.headers, drop);
  const authority = req.headers[':authority'];
  if (req.httpVersionMajor === 2 && typeof authority === 'string') headers['host'] = authority;
  Object.assign(headers, extra);
  const framing = bodyFraming(req);
  let upstream: UpstreamRequest;
  try {
    upstream = target.send(headers, framing);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    target.log.warn({ ...target.logFields, err: e.message, code: e.code }, 'request cannot be forwarded');
    replyText(res, 400, e.message, 'invalid_request');
    return;
  }
  upstream.setTimeout(target.timeoutMs, () =>
    upstream.destroy(Object.assign(new Error('upstream timed out'), { code: 'ETIMEDOUT' })),
  );
  upstream.on('response', (up) => {
    if (target.intercept?.(up)) return;
    res.writeHead(up.statusCode, forwardableHeaders(up.headers));
    relayBody(up, res);
    up.on('error', () => res.destroy());
  });
  let refused = false;
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    if (refused) return;
    target.log.warn({ ...target.logFields, err: err.message, code: err.code }, 'upstream request failed');
    if (err.code === 'ETIMEDOUT') replyText(res, 504, 'upstream timed out', 'upstream_timeout');
    else if (err.code === 'ERR_TETHER_WRONG_SERVER_ID')
      replyText(res, 502, err.message, 'server_id_mismatch');
    else replyText(res, 502, `upstream unavailable: ${err.message}`, 'upstream_unavailable');
  });
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  // A retried request was read to its end by the first attempt (only bodiless ones are retried).
  if (framing === 'none') {
    // Bodiless: nothing to relay (whatever an HTTP/2 client still sends is drained unused).
    upstream.end();
    if (!req.readableEnded) req.resume();
  } else if (limit === undefined) req.pipe(upstream);
  else {
    const body = new BodyLimit(limit);
    body.on('error', () => {
      refused = true;
      upstream.destroy();
      refuseBody(req, res, limit);
    });
    req.pipe(body).pipe(upstream);
  }
}
