// Obtains certificate-bound access tokens (RFC 8705 §2, client_credentials with tls_client_auth)
// for one (issuer, audience, scope): over mTLS with the certificate the token will be bound to,
// cached per certificate, refreshed at 80% of its lifetime and as soon as the certificate
// rotates (a token bound to the old certificate is useless on new connections), single-flight.
import { decodeJwt } from 'jose';
import type { Logger } from '../../common/logging.js';
import type { Svid } from '../identity/svid.js';
import type { Discovery } from './discovery.js';
import { type AsTls, requestJson } from './https-json.js';

export const REFRESH_AT_FRACTION = 0.8;
/** Never hand out a token this close to its expiry. */
const EXPIRY_MARGIN_MS = 5_000;
const RETRY_AFTER_MS = 1_000;

export interface TokenClientOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string | undefined;
  /** Registered client_id (e.g. for tls_client_auth_subject_dn); default the SPIFFE ID. */
  readonly clientId?: string | undefined;
  readonly discovery: Discovery;
  /** TLS material presenting `svid` as our client certificate. */
  readonly tls: (svid: Svid) => AsTls;
  readonly now: () => number;
  readonly log: Logger;
  readonly onResult?: (result: 'ok' | 'error') => void;
}

interface Entry {
  readonly token: string;
  readonly refreshAtMs: number;
  readonly expiresAtMs: number;
}

/** RFC 8707 §2: `resource` must be an absolute URI; anything else goes as `audience`. */
export function tokenRequestForm(
  svid: Svid,
  o: { audience: string; scope: string | undefined; clientId?: string | undefined },
): Record<string, string> {
  const form: Record<string, string> = {
    grant_type: 'client_credentials',
    client_id: o.clientId ?? svid.spiffeId,
  };
  if (o.scope) form['scope'] = o.scope;
  if (/^[a-z][a-z0-9+.-]*:\/\/[^\s#]+$/i.test(o.audience)) form['resource'] = o.audience;
  else form['audience'] = o.audience;
  return form;
}

/** Lifetime from `expires_in`, else from the JWT's exp, else a conservative minute. */
function lifetimeMs(body: Record<string, unknown>, token: string, nowMs: number): number {
  if (typeof body['expires_in'] === 'number' && body['expires_in'] > 0) return body['expires_in'] * 1000;
  try {
    const exp = decodeJwt(token).exp;
    if (typeof exp === 'number') return Math.max(0, exp * 1000 - nowMs);
  } catch {
    // an opaque token: fall through
  }
  return 60_000;
}

export class TokenClient {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private current: Svid | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastAttemptMs = 0;
  private stopped = false;

  constructor(private readonly o: TokenClientOptions) {}

  /** A token bound to `svid`'s certificate: cached, or obtained now. */
  async get(svid: Svid): Promise<string> {
    const e = this.entries.get(svid.serial);
    const now = this.o.now();
    if (e && now < e.expiresAtMs - EXPIRY_MARGIN_MS) {
      if (now >= e.refreshAtMs && now - this.lastAttemptMs >= RETRY_AFTER_MS) this.refresh(svid);
      return e.token;
    }
    return (await this.obtain(svid)).token;
  }

  /** Forgets `token` (the upstream called it invalid) so the next get() obtains a fresh one. */
  invalidate(svid: Svid, token: string): void {
    if (this.entries.get(svid.serial)?.token === token) this.entries.delete(svid.serial);
  }

  /** Follows the identity: a new certificate gets a new token right away, in the background. */
  onIdentity(svid: Svid | null): void {
    if (!svid || svid.serial === this.current?.serial) return;
    const previous = this.current;
    this.current = svid;
    for (const serial of this.entries.keys())
      if (serial !== svid.serial && serial !== previous?.serial) this.entries.delete(serial);
    this.refresh(svid);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private refresh(svid: Svid): void {
    this.obtain(svid).catch(() => {
      if (this.stopped || svid.serial !== this.current?.serial) return;
      // Keep trying in the background; requests meanwhile use the old token or retry themselves.
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.refresh(svid), RETRY_AFTER_MS * 2);
      this.timer.unref();
    });
  }

  /** Single-flight per certificate. */
  private obtain(svid: Svid): Promise<Entry> {
    const inFlight = this.pending.get(svid.serial);
    if (inFlight) return inFlight;
    this.lastAttemptMs = this.o.now();
    const p = this.request(svid).finally(() => this.pending.delete(svid.serial));
    this.pending.set(svid.serial, p);
    return p;
  }

  private async request(svid: Svid): Promise<Entry> {
    try {
      const entry = await this.fetchToken(svid);
      this.entries.set(svid.serial, entry);
      if (svid.serial === this.current?.serial) this.schedule(svid, entry);
      this.o.onResult?.('ok');
      this.o.log.info(
        {
          serial: svid.serial,
          audience: this.o.audience,
          expiresAt: new Date(entry.expiresAtMs).toISOString(),
        },
        'access token obtained',
      );
      return entry;
    } catch (err) {
      this.o.onResult?.('error');
      this.o.log.warn(
        { issuer: this.o.issuer, audience: this.o.audience, err: (err as Error).message },
        'access token request failed',
      );
      throw err;
    }
  }

  private async fetchToken(svid: Svid): Promise<Entry> {
    const { tokenEndpoint } = await this.o.discovery.endpoints();
    if (!tokenEndpoint) throw new Error(`${this.o.issuer} publishes no token_endpoint`);
    const res = await requestJson(tokenEndpoint, {
      form: tokenRequestForm(svid, this.o),
      tls: this.o.tls(svid),
    });
    const body = (typeof res.json === 'object' && res.json !== null ? res.json : {}) as Record<
      string,
      unknown
    >;
    if (res.status !== 200)
      throw new Error(`token endpoint answered ${res.status} ${String(body['error'] ?? '')}`.trim());
    const token = body['access_token'];
    if (typeof token !== 'string' || token.length === 0)
      throw new Error('token response has no access_token');
    if (typeof body['token_type'] === 'string' && body['token_type'].toLowerCase() !== 'bearer')
      throw new Error(`unsupported token_type ${body['token_type']}`);
    const now = this.o.now();
    const life = lifetimeMs(body, token, now);
    return { token, refreshAtMs: now + life * REFRESH_AT_FRACTION, expiresAtMs: now + life };
  }

  /** Proactive refresh at 80% of the lifetime, for the current certificate only. */
  private schedule(svid: Svid, entry: Entry): void {
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(RETRY_AFTER_MS, entry.refreshAtMs - this.o.now());
    this.timer = setTimeout(() => {
      if (svid.serial === this.current?.serial) this.refresh(svid);
    }, delay);
    this.timer.unref();
  }
}
