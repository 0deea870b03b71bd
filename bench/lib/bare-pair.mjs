// The floor for sidecar RSS: a TCP-mode pair with nothing but node:net, node:tls and pipe — no
// libraries, no metrics, no identity checks beyond the chain. Run as two processes:
//   node bare-pair.mjs in  LISTEN_PORT BACKEND_PORT CERT_DIR   (mTLS server → plain backend)
//   node bare-pair.mjs out LISTEN_PORT UPSTREAM_PORT CERT_DIR  (plain → mTLS client)
// CERT_DIR holds key.pem, cert.pem (chain) and bundle.pem. Prints "ready" when listening.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';

const [mode, listenPort, targetPort, certDir] = process.argv.slice(2);
const file = (name) => readFileSync(path.join(certDir, name));
const identity = { key: file('key.pem'), cert: file('cert.pem'), ca: file('bundle.pem') };

function join(a, b) {
  a.pipe(b);
  b.pipe(a);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ]) {
    x.on('error', () => y.destroy());
    x.on('close', () => y.destroy());
  }
}

const server =
  mode === 'in'
    ? tls.createServer({ ...identity, requestCert: true, rejectUnauthorized: true }, (s) =>
        join(s, net.connect({ port: Number(targetPort), host: '127.0.0.1', noDelay: true })),
      )
    : net.createServer({ noDelay: true }, (c) =>
        join(
          c,
          tls.connect({
            ...identity,
            port: Number(targetPort),
            host: '127.0.0.1',
            checkServerIdentity: () => undefined, // chain only: this is a floor, not a sidecar
          }),
        ),
      );
server.listen(Number(listenPort), '127.0.0.1', () => console.log('ready'));
