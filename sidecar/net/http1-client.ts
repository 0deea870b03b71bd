// A lean HTTP/1.1 client for the proxy's upstream hop: a pool of keep-alive connections (plain
// or mTLS), one request at a time per connection, the request head written as one string, and a
// small response parser (status line, headers, content-length / chunked / close-delimited bodies,
// 1xx skipped). node:http's ClientRequest + Agent were about four fifths of a proxy hop's CPU
// (bench/README.md). The parser is strict, not lenient: a response it does not fully understand
// fails the exchange (502), it is never guessed at. The server side, facing the clients, stays
// node:http with its protections.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type net from 'node:net';
import { Readable, Writable } from 'node:stream';

/** How the request body is framed on the wire. */
export type BodyFraming = 'none' | 'length' | 'chunked';

/** Longest response head we accept (node's default header limit is 16 KiB; be lenient upstream). */
const MAX_HEAD_BYTES = 64 * 1024;
/** Longest chunk-size line (hex size plus extensions) we accept. */
const MAX_CHUNK_LINE = 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;
const BAD_TARGET = /[\s\0]/;

function fail(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** The request line and headers, validated; throws ERR_INVALID_HTTP_REQUEST on what cannot be sent. */
export function requestHead(
  method: string,
  target: string,
  headers: OutgoingHttpHeaders,
  framing: BodyFraming,
  defaultHost?: string,
): string {
  if (!TOKEN.test(method)) throw fail('ERR_INVALID_HTTP_REQUEST', `invalid method ${JSON.stringify(method)}`);
  if (!target || BAD_TARGET.test(target)) throw fail('ERR_INVALID_HTTP_REQUEST', 'invalid request target');
  let head = `${method} ${target} HTTP/1.1\r\n`;
  // HTTP/1.1 requires Host (an HTTP/1.0 client may not have sent one): name the upstream, as
  // node's ClientRequest does.
  if (defaultHost !== undefined && headers['host'] === undefined) head += `host: ${defaultHost}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (framing === 'chunked' && lower === 'content-length') continue;
    if (!TOKEN.test(name))
      throw fail('ERR_INVALID_HTTP_REQUEST', `invalid header name ${JSON.stringify(name)}`);
    for (const v of Array.isArray(value) ? value : [value]) {
      const s = String(v);
      if (BAD_VALUE.test(s)) throw fail('ERR_INVALID_HTTP_REQUEST', `invalid value in header ${name}`);
      head += `${name}: ${s}\r\n`;
    }
  }
  if (framing === 'chunked') head += 'transfer-encoding: chunked\r\n';
  return `${head}\r\n`;
}

/** The upstream's response: status, headers (node's IncomingMessage shape), body as a stream. */
export class UpstreamResponse extends Readable {
  constructor(
    readonly statusCode: number,
    readonly headers: IncomingHttpHeaders,
    private readonly onRead: () => void,
  ) {
    super();
  }
  override _read(): void {
    this.onRead();
  }
}

interface ParsedHead {
  readonly status: number;
  readonly minor: number;
  readonly headers: IncomingHttpHeaders;
}

/** Parses a response head (without its final CRLF CRLF); throws ERR_UPSTREAM_RESPONSE. */
export function parseResponseHead(text: string): ParsedHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/.exec(lines[0] ?? '');
  if (!m) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent an invalid status line');
  const headers: IncomingHttpHeaders = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent an invalid header line');
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent an invalid header name');
    const value = line.slice(colon + 1).trim();
    if (value.includes('\0')) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent an invalid header value');
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else if (name === 'content-length') {
      if (prev !== value) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent conflicting content-length');
    } else headers[name] = `${prev}, ${value}`;
  }
  return { status: Number(m[2]), minor: Number(m[1]), headers };
}

type BodyMode = { kind: 'none' } | { kind: 'length'; left: number } | { kind: 'chunked' } | { kind: 'close' };

function bodyModeOf(method: string, h: ParsedHead): BodyMode {
  if (method === 'HEAD' || h.status === 204 || h.status === 304) return { kind: 'none' };
  const te = h.headers['transfer-encoding'];
  if (te !== undefined) {
    if (h.headers['content-length'] !== undefined)
      throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent both transfer-encoding and content-length');
    return /(?:^|,)\s*chunked\s*$/i.test(String(te)) ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = h.headers['content-length'];
  if (cl !== undefined) {
    if (!/^\d{1,15}$/.test(String(cl)))
      throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent an invalid content-length');
    return { kind: 'length', left: Number(cl) };
  }
  return { kind: 'close' };
}

/** Seconds from `keep-alive: timeout=N`, if the upstream announced when it closes idle connections. */
function keepAliveSeconds(h: IncomingHttpHeaders): number | null {
  const m = /timeout=(\d+)/i.exec(String(h['keep-alive'] ?? ''));
  return m ? Number(m[1]) : null;
}

export interface PoolOptions {
  /** Opens a new connection; writes before it is ready are buffered by the socket. */
  readonly open: () => net.Socket;
  /** A connection is not ready until this event (`connect`, or `secureConnect` for TLS). */
  readonly readyEvent: 'connect' | 'secureConnect';
  /** Connection attempts fail with ETIMEDOUT after this long (0: no limit of their own). */
  readonly connectTimeoutMs?: number;
  /** The Host header for requests that carry none (`host:port` of the upstream). */
  readonly defaultHost?: string;
  /** At most this many connections at once; further requests wait for one (default 1024). */
  readonly maxConnections?: number;
}

const IDLE_FALLBACK_MS = 4_000; // below node's default server keepAliveTimeout of 5 s
const noop = () => undefined;

/** Keep-alive connections to one upstream; `retire()` stops reuse (e.g. after an identity change). */
export class Http1Pool {
  private readonly idle: net.Socket[] = [];
  private readonly idleHandlers = new Map<net.Socket, () => void>();
  private readonly busy = new Set<net.Socket>();
  private readonly waiting: (() => void)[] = [];
  private readonly max: number;
  private retired = false;

  constructor(readonly options: PoolOptions) {
    this.max = options.maxConnections ?? 1024;
  }

  /** @internal Runs `start` now if a connection may be taken, else when one is given back. */
  whenFree(start: () => void): void {
    if (this.busy.size < this.max) start();
    else this.waiting.push(start);
  }

  private next(): void {
    // A waiting request that was abandoned meanwhile takes nothing; the loop goes on.
    while (this.waiting.length > 0 && this.busy.size < this.max) this.waiting.shift()!();
  }

  /** Starts a request; write the body to the returned stream (or just end it). */
  request(
    method: string,
    target: string,
    headers: OutgoingHttpHeaders,
    framing: BodyFraming,
  ): UpstreamRequest {
    const head = requestHead(method, target, headers, framing, this.options.defaultHost);
    return new UpstreamRequest(this, method, head, framing);
  }

  /** @internal A connection for one request: a reused idle one, else a new one. */
  acquire(): { socket: net.Socket; reused: boolean } {
    for (let s = this.idle.pop(); s; s = this.idle.pop()) {
      this.idleHandlers.get(s)?.();
      this.idleHandlers.delete(s);
      if (s.destroyed || !s.writable) continue;
      this.busy.add(s);
      return { socket: s, reused: true };
    }
    const socket = this.options.open();
    socket.on('error', noop); // a late error after we let go of it must not crash the process
    this.busy.add(socket);
    return { socket, reused: false };
  }

  /** @internal Takes a connection back after a complete exchange (listeners already removed). */
  release(socket: net.Socket, reusable: boolean, idleMs: number): void {
    this.busy.delete(socket);
    if (!reusable || this.retired || socket.destroyed) {
      socket.destroy();
      this.next();
      return;
    }
    const forget = () => {
      const i = this.idle.indexOf(socket);
      if (i >= 0) this.idle.splice(i, 1);
      this.idleHandlers.delete(socket);
    };
    // Anything the upstream sends on an idle connection is a protocol error: drop the connection.
    const onData = () => socket.destroy();
    const onTimeout = () => socket.destroy();
    socket.once('close', forget);
    socket.on('data', onData);
    socket.on('timeout', onTimeout);
    socket.setTimeout(idleMs);
    this.idleHandlers.set(socket, () => {
      socket.off('close', forget);
      socket.off('data', onData);
      socket.off('timeout', onTimeout);
      socket.setTimeout(0);
    });
    this.idle.push(socket);
    this.next();
  }

  /** @internal Forgets a connection that failed or was abandoned. */
  drop(socket: net.Socket): void {
    this.busy.delete(socket);
    socket.destroy();
    this.next();
  }

  /** Closes idle connections now; busy ones close when their exchange ends. */
  retire(): void {
    this.retired = true;
    for (const s of this.idle.splice(0)) s.destroy();
    this.idleHandlers.clear();
  }

  /** Closes every connection. */
  close(): void {
    this.retire();
    this.waiting.length = 0;
    for (const s of this.busy) s.destroy();
    this.busy.clear();
  }
}

/**
 * One request/response exchange. A Writable for the request body; emits `response` with an
 * UpstreamResponse, or `error` (code ECONNREFUSED, ETIMEDOUT, ERR_UPSTREAM_RESPONSE, …) when no
 * complete response can be had. A bodiless request that fails on a reused connection before any
 * response byte arrives is sent once more on a new connection (the upstream had closed it idle).
 */
export class UpstreamRequest extends Writable {
  private socket: net.Socket | null = null;
  /** Body writes (and the end) that came while waiting for a connection. */
  private readonly afterAttach: (() => void)[] = [];
  private reused = false;
  private ready = false;
  private gotBytes = false;
  private response: UpstreamResponse | null = null;
  private finished = false;
  private buf: Buffer | null = null;
  private mode: BodyMode | null = null;
  private chunkLeft = -1; // chunked: bytes left in the current chunk; -1 reading a size line; -2 trailers
  private keepAlive = true;
  private idleMs = IDLE_FALLBACK_MS;
  private timeoutMs = 0;
  private onTimeout: (() => void) | null = null;
  private readonly socketListeners = {
    data: (d: Buffer) => this.onData(d),
    error: (err: NodeJS.ErrnoException) => this.onSocketGone(err),
    close: () => this.onSocketGone(null),
    timeout: () => this.timedOut(),
    ready: () => {
      this.ready = true;
      this.armTimer();
    },
  };

  constructor(
    private readonly pool: Http1Pool,
    private readonly method: string,
    private readonly head: string,
    private readonly framing: BodyFraming,
  ) {
    // Not destroyed when the body is finished: the exchange lives on until the response ends.
    super({ decodeStrings: true, autoDestroy: false });
    this.pool.whenFree(() => {
      if (!this.destroyed) this.attach();
    });
  }

  /** Fails the exchange after `ms` without upstream activity (like ClientRequest.setTimeout). */
  setTimeout(ms: number, cb: () => void): this {
    this.timeoutMs = ms;
    this.onTimeout = cb;
    this.armTimer();
    return this;
  }

  private attach(): void {
    const { socket, reused } = this.pool.acquire();
    this.socket = socket;
    this.reused = reused;
    this.ready = reused;
    const l = this.socketListeners;
    socket.on('data', l.data);
    socket.on('error', l.error);
    socket.on('close', l.close);
    socket.on('timeout', l.timeout);
    if (!reused) socket.once(this.pool.options.readyEvent, l.ready);
    this.armTimer();
    socket.write(this.head); // a body follows in _write; a bodiless request is this one write
    for (const f of this.afterAttach.splice(0)) f();
  }

  private detach(): net.Socket {
    const socket = this.socket!;
    const l = this.socketListeners;
    socket.off('data', l.data);
    socket.off('error', l.error);
    socket.off('close', l.close);
    socket.off('timeout', l.timeout);
    socket.off(this.pool.options.readyEvent, l.ready);
    socket.setTimeout(0);
    return socket;
  }

  private armTimer(): void {
    const connectMs = this.pool.options.connectTimeoutMs ?? 0;
    const ms = !this.ready && connectMs > 0 ? connectMs : this.timeoutMs;
    this.socket?.setTimeout(ms);
  }

  private timedOut(): void {
    const connectMs = this.pool.options.connectTimeoutMs ?? 0;
    // On the socket, so its owner sees why the connection failed (the error comes back through onSocketGone).
    if (!this.ready && connectMs > 0) this.socket!.destroy(fail('ETIMEDOUT', 'connect timed out'));
    else if (this.onTimeout) this.onTimeout();
    else this.destroy(fail('ETIMEDOUT', 'upstream timed out'));
  }

  override _write(chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (!this.socket) {
      this.afterAttach.push(() => this._write(chunk, enc, cb));
      return;
    }
    // Nothing may follow a bodiless head; after the response, the rest of a body is not wanted.
    if (this.framing === 'none' || this.finished) {
      cb();
      return;
    }
    const s = this.socket!;
    if (s.destroyed) {
      cb(fail('ECONNRESET', 'upstream connection closed'));
      return;
    }
    let ok: boolean;
    if (this.framing === 'chunked') {
      s.cork();
      s.write(`${chunk.length.toString(16)}\r\n`);
      s.write(chunk);
      ok = s.write('\r\n');
      s.uncork();
    } else ok = s.write(chunk);
    if (ok) cb();
    else s.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.socket) {
      this.afterAttach.push(() => this._final(cb));
      return;
    }
    if (this.framing === 'chunked' && !this.finished && !this.socket!.destroyed)
      this.socket!.write('0\r\n\r\n');
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.finished) {
      this.finished = true;
      if (this.socket) this.pool.drop(this.detach());
      if (this.response && !this.response.readableEnded) this.response.destroy(err ?? undefined);
    }
    cb(err);
  }

  private onSocketGone(err: NodeJS.ErrnoException | null): void {
    if (this.finished) return;
    if (this.mode?.kind === 'close' && !err) {
      this.complete(false);
      return;
    }
    // A reused idle connection the upstream had just closed: try once more on a new one.
    if (this.reused && !this.gotBytes && this.framing === 'none') {
      const stale = this.detach();
      this.attach(); // before the old slot is given back, so a waiting request cannot take it
      this.pool.drop(stale);
      return;
    }
    this.destroy(
      err ?? fail('ECONNRESET', 'upstream closed the connection before the response was complete'),
    );
  }

  private onData(d: Buffer): void {
    if (this.finished) return;
    this.gotBytes = true;
    try {
      this.consume(d);
    } catch (err) {
      this.destroy(err as Error);
    }
  }

  private consume(d: Buffer): void {
    let data = this.buf ? Buffer.concat([this.buf, d]) : d;
    this.buf = null;
    while (data.length > 0 && !this.finished) {
      if (this.mode) {
        data = this.body(data);
        continue;
      }
      const end = data.indexOf('\r\n\r\n', 0, 'latin1');
      if (end > MAX_HEAD_BYTES) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream response head is too large');
      if (end < 0) {
        if (data.length > MAX_HEAD_BYTES)
          throw fail('ERR_UPSTREAM_RESPONSE', 'upstream response head is too large');
        this.buf = data;
        return;
      }
      const parsed = parseResponseHead(data.toString('latin1', 0, end));
      data = data.subarray(end + 4);
      if (parsed.status < 200) {
        if (parsed.status === 101) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream switched protocols unasked');
        continue; // 100 Continue, 103 Early Hints: the final response follows
      }
      this.startResponse(parsed);
    }
  }

  private startResponse(h: ParsedHead): void {
    this.mode = bodyModeOf(this.method, h);
    const conn = String(h.headers['connection'] ?? '').toLowerCase();
    this.keepAlive = h.minor === 1 ? !/\bclose\b/.test(conn) : /\bkeep-alive\b/.test(conn);
    const ka = keepAliveSeconds(h.headers);
    if (ka !== null) this.idleMs = Math.max(0, ka * 1000 - 1000);
    const socket = this.socket!;
    this.response = new UpstreamResponse(h.status, h.headers, () => {
      if (!this.finished) socket.resume();
    });
    this.emit('response', this.response);
    if (this.mode.kind === 'none' || (this.mode.kind === 'length' && this.mode.left === 0))
      this.complete(true);
  }

  /** Consumes body bytes from `data`; returns what is left after the body ends. */
  private body(data: Buffer): Buffer {
    const mode = this.mode!;
    if (mode.kind === 'close') {
      this.push(data);
      return data.subarray(data.length);
    }
    if (mode.kind === 'length') {
      const take = Math.min(mode.left, data.length);
      mode.left -= take;
      this.push(data.subarray(0, take));
      if (mode.left === 0) {
        if (take < data.length) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent bytes after the response');
        this.complete(true);
      }
      return data.subarray(data.length);
    }
    if (mode.kind === 'none') throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent bytes after the response');
    return this.chunked(data);
  }

  private chunked(data: Buffer): Buffer {
    let at = 0;
    while (at < data.length && !this.finished) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, data.length - at);
        this.push(data.subarray(at, at + take));
        this.chunkLeft -= take;
        at += take;
        continue;
      }
      if (this.chunkLeft === 0) {
        // The CRLF after a chunk's data.
        if (data.length - at < 2) break;
        if (data[at] !== 13 || data[at + 1] !== 10)
          throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent a malformed chunk');
        at += 2;
        this.chunkLeft = -1;
        continue;
      }
      const eol = data.indexOf('\r\n', at, 'latin1');
      if (eol < 0) {
        if (data.length - at > MAX_CHUNK_LINE)
          throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent a malformed chunk');
        break;
      }
      const line = data.toString('latin1', at, eol);
      at = eol + 2;
      if (this.chunkLeft === -2) {
        if (line !== '') continue; // trailer fields are dropped
        if (at < data.length) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent bytes after the response');
        this.complete(true);
        continue;
      }
      const m = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
      if (!m) throw fail('ERR_UPSTREAM_RESPONSE', 'upstream sent a malformed chunk size');
      const size = Number.parseInt(m[1]!, 16);
      this.chunkLeft = size === 0 ? -2 : size;
    }
    if (at < data.length && !this.finished) this.buf = data.subarray(at);
    return data.subarray(data.length);
  }

  private push(chunk: Buffer): void {
    if (chunk.length > 0 && !this.response!.push(chunk)) this.socket!.pause();
  }

  private complete(reusable: boolean): void {
    this.finished = true;
    const socket = this.detach();
    socket.resume();
    // Reusable only if our request went out whole (else the upstream may still be reading it).
    this.pool.release(socket, reusable && this.keepAlive && this.writableFinished, this.idleMs);
    this.response!.push(null);
  }
}
