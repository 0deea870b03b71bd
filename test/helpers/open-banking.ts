// Open-banking test fixtures: a QTSP with a bank QWAC and two TPP QWACs (one PSP_AI, one only
// PSP_PI), and a direct mTLS HTTPS client that reports the server certificate it saw.
import https from 'node:https';
import path from 'node:path';
import { tempDir } from './ca-process.js';
import { makeQtsp, type Qtsp, type Qwac } from './qwac.js';

export interface OpenBankingPki {
  readonly dir: string;
  readonly qtsp: Qtsp;
  readonly bank: Qwac;
  readonly tppAi: Qwac;
  readonly tppPi: Qwac;
}

export const TPP_AI_ORG = 'PSDGB-FCA-111111';
export const TPP_PI_ORG = 'PSDGB-FCA-222222';

export function makeOpenBankingPki(): OpenBankingPki {
  const dir = tempDir('tether-ob-');
  const qtsp = makeQtsp(dir);
  return {
    dir,
    qtsp,
    bank: qtsp.issue({
      name: 'bank',
      commonName: 'bank.example',
      organizationId: 'PSDGB-FCA-900000',
      roles: ['PSP_AS'],
      dnsNames: ['bank.example', 'localhost'],
    }),
    tppAi: qtsp.issue({
      name: 'tpp-ai',
      commonName: 'tpp-ai.example',
      organizationId: TPP_AI_ORG,
      roles: ['PSP_AI'],
      dnsNames: ['tpp-ai.example'],
    }),
    tppPi: qtsp.issue({
      name: 'tpp-pi',
      commonName: 'tpp-pi.example',
      organizationId: TPP_PI_ORG,
      roles: ['PSP_PI'],
      dnsNames: ['tpp-pi.example'],
    }),
  };
}

export function file(pki: OpenBankingPki, name: string): string {
  return path.join(pki.dir, name);
}

export interface MtlsAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** Serial (hex, uppercase as Node prints it) of the server certificate on this connection. */
  readonly serverSerial: string;
}

/** One request on a fresh mTLS connection (no pooling), as a TPP would make it. */
export function mtlsRequest(
  port: number,
  o: {
    client: Qwac;
    ca: string;
    path?: string;
    headers?: Record<string, string>;
    servername?: string;
  },
): Promise<MtlsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: o.path ?? '/',
        headers: o.headers ?? {},
        cert: o.client.certPem,
        key: o.client.keyPem,
        ca: o.ca,
        servername: o.servername ?? 'bank.example',
        checkServerIdentity: () => undefined,
        agent: false,
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        const serverSerial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, serverSerial }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
