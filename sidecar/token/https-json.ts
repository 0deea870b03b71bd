// Talks JSON to an authorization server over HTTPS: the AS's certificate is verified against the
// configured roots (and its host name, as any HTTPS client must), and our SVID is presented as
// the client certificate whenever we hold one (RFC 8705 §2: mTLS client authentication).
import https from 'node:https';
import type { SecureContext } from 'node:tls';

/**
 * TLS material for calls to the AS: one context holding the roots for the AS and our identity
 * (absent while we have none), built once per identity or bundle change, not per call.
 */
export interface AsTls {
  readonly secureContext: SecureContext;
}

export interface JsonResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The parsed body, or undefined when it was not JSON. */
  readonly json: unknown;
  readonly text: string;
}

export interface JsonRequest {
  readonly method?: 'GET' | 'POST';
  /** Sent as application/x-www-form-urlencoded (RFC 6749 §4.4.2, RFC 7662 §2.1). */
  readonly form?: Record<string, string>;
  readonly tls: AsTls;
  readonly timeoutMs?: number;
}

const MAX_BODY_BYTES = 1 << 20;

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Performs one HTTPS request and reads a (bounded) JSON answer. */
export function requestJson(url: string, o: JsonRequest): Promise<JsonResponse> {
  const body = o.form ? new URLSearchParams(o.form).toString() : undefined;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: o.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      secureContext: o.tls.secureContext,
      agent: false,
      timeout: o.timeoutMs ?? 10_000,
      // https passes unknown options through to tls.connect.
    } as https.RequestOptions);
    req.on('timeout', () => req.destroy(Object.assign(new Error(`${url} timed out`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) req.destroy(new Error(`${url} answered more than 1 MiB`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json: parse(text), text });
      });
    });
    req.end(body);
  });
}
