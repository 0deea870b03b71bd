// HTTPS edge of the authorization server: TLS 1.3 with client certificates requested (verified
// in client-auth.ts), the CA's serving certificate swapped live, routing, body reading, and the
// one place that turns TetherErrors into OAuth error responses, logs them and counts them.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { splitHostPort } from '../../common/address.js';
import type { Clock } from '../../common/clock.js';
import { asTetherError, TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import { certsToPem } from '../../common/pem.js';
import type { Authority } from '../authority/authority.js';
import type { ServingIdentity } from '../authority/serving-identity.js';
import type { FailureTracker } from '../limits/failure-tracker.js';
import type { CaMetrics } from '../ops/metrics.js';
import type { Store } from '../store/store.js';
import { presentedCertificate } from './client-auth.js';
import { OAUTH_ERROR } from './error-map.js';
import { MAX_FORM_BYTES } from './form.js';
import { Introspection } from './introspection.js';
import { authorizationServerMetadata, defaultIssuer, OAUTH_PATHS } from './metadata.js';
import type { ScopePolicy } from './policy.js';
import type { SigningKeys } from './signing-keys.js';
import { SourceGuard } from './source-guard.js';
import { TokenEndpoint, type TokenRequest } from './token-endpoint.js';

export interface OAuthServerOptions {
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: CaMetrics;
  readonly authority: Authority;
  readonly serving: ServingIdentity;
  readonly store: Store;
  readonly failures: FailureTracker;
  readonly keys: SigningKeys;
  readonly policy: ScopePolicy;
  readonly tokenTtlSeconds: number;
  /** `--issuer`; default `https://<bound address>`. */
  readonly issuer: string | undefined;
}

/** RFC 6749 §5.1: token responses must not be cached. */
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

type Reply = (status: number, body: unknown, headers?: Record<string, string>) => void;

export class OAuthServer {
  private readonly server: Server;
  private issuerUrl: string | null = null;
  private readonly guard: SourceGuard;
  private readonly tokens: TokenEndpoint;
  private readonly introspection: Introspection;

  constructor(private readonly o: OAuthServerOptions) {
    this.guard = new SourceGuard(o.failures, o.metrics, o.log);
    const shared = { clock: o.clock, store: o.store, trustDomain: o.authority.trustDomain, keys: o.keys };
    const issuer = () => this.issuer();
    this.tokens = new TokenEndpoint({
      ...shared,
      policy: o.policy,
      tokenTtlSeconds: o.tokenTtlSeconds,
      issuer,
    });
    this.introspection = new Introspection({ ...shared, issuer });
    this.server = createServer(
      { ...this.tlsMaterial(), requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3' },
      (req, res) => void this.route(req, res),
    );
    o.serving.onChange(() => this.server.setSecureContext(this.tlsMaterial()));
    o.authority.onChange((c) => {
      if (c.bundleChanged) this.server.setSecureContext(this.tlsMaterial());
    });
  }

  /** The `iss` of tokens and base of the metadata URLs. */
  issuer(): string {
    if (!this.issuerUrl) throw new TetherError('ERR_CA_NOT_READY', 'the token server is not listening yet');
    return this.issuerUrl;
  }

  /** Binds `host:port` (port 0 picks a free one) and returns the bound port. */
  async listen(address: string): Promise<number> {
    const { host, port: wanted } = splitHostPort(address);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(wanted, host, () => resolve());
    });
    const port = (this.server.address() as AddressInfo).port;
    this.issuerUrl = this.o.issuer ?? defaultIssuer(host, port);
    return port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private tlsMaterial(): tls.SecureContextOptions {
    const serving = this.o.serving.get();
    if (!serving) throw new Error('serving identity must be issued before the token server starts');
    return { cert: serving.chainPem, key: serving.keyPem, ca: certsToPem(this.o.authority.bundle().roots) };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const reply: Reply = (status, body, headers = {}) =>
      res
        .writeHead(status, { 'content-type': 'application/json', ...headers })
        .end(`${JSON.stringify(body)}\n`);
    const post = path === OAUTH_PATHS.token || path === OAUTH_PATHS.introspection;
    const get = path === OAUTH_PATHS.metadata || path === OAUTH_PATHS.jwks;
    if (!post && !get) return reply(404, { error: 'not_found' });
    const method = post ? 'POST' : 'GET';
    if (req.method !== method) return reply(405, { error: 'method_not_allowed' }, { allow: method });
    if (path === OAUTH_PATHS.metadata)
      return reply(200, authorizationServerMetadata(this.issuer(), this.o.policy.scopesSupported()));
    if (path === OAUTH_PATHS.jwks) return reply(200, this.o.keys.jwks(), { 'cache-control': 'max-age=60' });
    await this.handlePost(path === OAUTH_PATHS.token ? 'token' : 'introspect', req, reply);
  }

  private async handlePost(kind: 'token' | 'introspect', req: IncomingMessage, reply: Reply): Promise<void> {
    const socket = req.socket as TLSSocket;
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    const presented = presentedCertificate(socket);
    try {
      this.guard.check(peer, presented.leafDer);
      const body = await readBody(req);
      const request: TokenRequest = { presented, contentType: req.headers['content-type'], body };
      if (kind === 'token') await this.issueToken(request, peer, reply);
      else await this.introspect(request, peer, reply);
    } catch (err) {
      const e = asTetherError(err);
      if (e.code === 'ERR_CLIENT_AUTH_FAILED') this.guard.recordFailure(peer, presented.leafDer);
      this.refuse(kind, e, peer, presented.leafDer, reply);
    }
  }

  private async issueToken(request: TokenRequest, peer: string, reply: Reply): Promise<void> {
    const { response, claims } = await this.tokens.handle(request);
    this.o.metrics.tokens.inc({ result: 'issued' });
    const { sub, aud, scope, jti, exp } = claims;
    this.o.log.info({ sub, aud, scope: scope ?? '', jti, exp, peer }, 'access token issued');
    reply(200, response, NO_STORE);
  }

  private async introspect(request: TokenRequest, peer: string, reply: Reply): Promise<void> {
    const { caller, answer } = await this.introspection.handle(request);
    this.o.metrics.introspections.inc({ result: answer.active ? 'active' : 'inactive' });
    this.o.log.debug({ caller: caller.spiffeId, active: answer.active, peer }, 'token introspected');
    reply(200, answer, NO_STORE);
  }

  private refuse(kind: string, e: TetherError, peer: string, leafDer: Buffer | null, reply: Reply): void {
    const map = OAUTH_ERROR[e.code];
    const headers: Record<string, string> = { ...NO_STORE };
    if (map.status === 429) headers['retry-after'] = String(this.guard.retryAfterSeconds(peer, leafDer));
    (kind === 'token' ? this.o.metrics.tokens : this.o.metrics.introspections).inc({ result: map.error });
    const level = map.status >= 500 ? 'error' : 'warn';
    this.o.log[level](
      { endpoint: kind, error: map.error, code: e.code, reason: e.message, peer, err: e.cause ?? undefined },
      `${kind} request refused`,
    );
    const description = map.status >= 500 ? 'internal error' : e.message;
    reply(map.status, { error: map.error, error_description: description }, headers);
  }
}

/** Reads the body as UTF-8, refusing more than MAX_FORM_BYTES. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep draining (so the error response can still be sent) but stop buffering.
      if (size > MAX_FORM_BYTES)
        reject(new TetherError('ERR_TOKEN_REQUEST_INVALID', 'the request body is too large'));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
