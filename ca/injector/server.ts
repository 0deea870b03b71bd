// The injection webhook's HTTPS edge: `POST /inject` (the API server appends `?timeout=…`, which
// is ignored), AdmissionReview JSON in and out, served with the CA's serving certificate (chained
// to the mesh root, valid for the webhook Service names, localhost and 127.0.0.1), swapped live.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { splitHostPort } from '../../common/address.js';
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import type { ServingIdentity } from '../authority/serving-identity.js';
import { admit, type InjectorSettings } from './admission.js';

/** Pods with large specs exist, but the API server caps objects at ~1.5 MiB. */
const MAX_BODY_BYTES = 3 * 1024 * 1024;
export const INJECT_PATH = '/inject';

export interface InjectorServerOptions {
  readonly log: Logger;
  readonly serving: ServingIdentity;
  readonly settings: InjectorSettings;
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export class InjectorServer {
  private readonly server: Server;

  constructor(private readonly o: InjectorServerOptions) {
    this.server = createServer({ ...this.tlsMaterial() }, (req, res) => void this.route(req, res));
    o.serving.onChange(() => this.server.setSecureContext(this.tlsMaterial()));
  }

  async listen(address: string): Promise<number> {
    const { host, port } = splitHostPort(address);
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(port, host, () => resolve());
      });
    } catch (err) {
      throw new TetherError('ERR_LISTEN_FAILED', `the injector cannot listen on ${address}`, { cause: err });
    }
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private tlsMaterial() {
    const serving = this.o.serving.get();
    if (!serving) throw new Error('serving identity must be issued before the injector starts');
    return { cert: serving.chainPem, key: serving.keyPem };
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== INJECT_PATH) return reply(404, { error: `not found; the webhook is POST ${INJECT_PATH}` });
    if (req.method !== 'POST') return reply(405, { error: 'use POST' });
    let body: unknown;
    try {
      const text = await readBody(req);
      if (text === null) return reply(413, { error: 'AdmissionReview too large' });
      body = JSON.parse(text);
    } catch {
      this.o.log.warn({ peer: req.socket.remoteAddress }, 'injector: request body is not JSON');
      return reply(400, { error: 'the body is not JSON; expected an AdmissionReview (admission.k8s.io/v1)' });
    }
    const outcome = admit(body, this.o.settings);
    const level = outcome.decision === 'denied' ? 'warn' : 'info';
    this.o.log[level](
      { uid: outcome.response.uid, decision: outcome.decision, reason: outcome.reason },
      'admission review',
    );
    reply(200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: outcome.response });
  }
}
