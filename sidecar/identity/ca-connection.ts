// The sidecar's side of the CA's gRPC contract: bootstrapping trust in the CA (bundle file or a
// pinned root fingerprint), SignCertificate with a credential or over mTLS, WatchTrustBundle.
// The CA is authenticated by its chain to the bundle and its SPIFFE ID, not by host name.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { type ChannelCredentials, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { splitHostPort } from '../../common/address.js';
import { TetherError } from '../../common/errors.js';
import { certsToPem, fromPem } from '../../common/pem.js';
import { caProto } from '../../common/proto.js';
import { caServerId } from '../../common/spiffe-id.js';
import { readSans } from '../../common/x509.js';
import type { CertificateAuthorityClient } from '../../proto/gen/tether/ca/v1/CertificateAuthority.js';
import type { TrustBundle__Output } from '../../proto/gen/tether/ca/v1/TrustBundle.js';
import type { Svid } from './svid.js';

export interface CaConnectionOptions {
  readonly address: string;
  readonly trustDomain: string;
  readonly timeoutMs: number;
}

export interface SignResult {
  readonly chain: Buffer[];
  readonly roots: Buffer[];
  readonly spiffeId: string;
}

function sha256(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Walks a detailed peer certificate into a DER chain, leaf first. */
function chainOf(peer: tls.DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  let cert: tls.DetailedPeerCertificate | undefined = peer;
  while (cert?.raw && !out.some((c) => c.equals(cert!.raw))) {
    out.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return out;
}

export class CaConnection {
  private readonly expectedId: string;

  constructor(private readonly o: CaConnectionOptions) {
    this.expectedId = caServerId(o.trustDomain).toString();
  }

  /** The roots to trust the CA with: from a PEM file, or the CA's own chain checked against a pinned fingerprint. */
  async bootstrapRoots(source: {
    bundleFile?: string | undefined;
    rootFingerprint?: string | undefined;
  }): Promise<Buffer[]> {
    if (source.bundleFile) {
      try {
        return fromPem(readFileSync(source.bundleFile, 'utf8'));
      } catch (err) {
        throw new TetherError(
          'ERR_CONFIG_INVALID',
          `ca.bundleFile ${source.bundleFile} holds no readable certificates`,
          { cause: err },
        );
      }
    }
    const pinned = (source.rootFingerprint ?? '').replace(/^sha256:/, '');
    const chain = await this.fetchServingChain();
    const root = chain.find((c) => sha256(c) === pinned);
    if (!root) {
      throw new TetherError(
        'ERR_CREDENTIAL_INVALID',
        `the CA at ${this.o.address} does not chain to the pinned root sha256:${pinned}`,
      );
    }
    const certs = chain.map((c) => new X509Certificate(c));
    for (let i = 0; i < certs.length - 1 && !certs[i]!.raw.equals(root); i++) {
      if (!certs[i]!.verify(certs[i + 1]!.publicKey)) {
        throw new TetherError(
          'ERR_CREDENTIAL_INVALID',
          `the CA's certificate chain at ${this.o.address} does not verify`,
        );
      }
    }
    return [root];
  }

  private fetchServingChain(): Promise<Buffer[]> {
    const { host, port } = splitHostPort(this.o.address);
    return new Promise((resolve, reject) => {
      // Unverified on purpose: the chain is checked against the pinned fingerprint afterwards,
      // and nothing is sent over this connection.
      const socket = tls.connect({
        host,
        port,
        servername: 'tether-ca',
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
      });
      socket.setTimeout(this.o.timeoutMs, () => socket.destroy(new Error('timed out')));
      socket.once('secureConnect', () => {
        const chain = chainOf(socket.getPeerCertificate(true));
        socket.destroy();
        resolve(chain);
      });
      socket.once('error', (err) =>
        reject(
          new TetherError('ERR_CA_NOT_READY', `cannot reach the CA at ${this.o.address}`, { cause: err }),
        ),
      );
    });
  }

  private credentialsFor(roots: readonly Buffer[], identity: Svid | null): ChannelCredentials {
    const checkServerIdentity = (_host: string, cert: tls.PeerCertificate): Error | undefined => {
      const uris = cert.raw ? readSans(cert.raw).uris : [];
      return uris.length === 1 && uris[0] === this.expectedId
        ? undefined
        : new Error(`the CA presented ${uris.join(', ') || 'no SPIFFE ID'}, expected ${this.expectedId}`);
    };
    const rootPem = Buffer.from(certsToPem(roots));
    return identity
      ? credentials.createSsl(rootPem, Buffer.from(identity.keyPem), Buffer.from(identity.chainPem), {
          checkServerIdentity,
        })
      : credentials.createSsl(rootPem, null, null, { checkServerIdentity });
  }

  /** A client for one purpose; callers close it when done. */
  client(roots: readonly Buffer[], identity: Svid | null): CertificateAuthorityClient {
    const Ctor = caProto().tether.ca.v1.CertificateAuthority;
    return new Ctor(this.o.address, this.credentialsFor(roots, identity), {
      // The CA is verified by SPIFFE ID; the TLS server name is only a label (no IP in SNI).
      'grpc.ssl_target_name_override': 'tether-ca',
      'grpc.default_authority': 'tether-ca',
      'grpc.max_receive_message_length': 1024 * 1024,
    });
  }

  /**
   * SignCertificate with a join token or a Kubernetes projected token, or (neither) renewal over
   * mTLS with `identity`.
   */
  sign(
    roots: readonly Buffer[],
    csr: Buffer,
    o: {
      joinToken: string | null;
      kubernetesToken?: string | null;
      identity: Svid | null;
      ttlSeconds: number;
    },
  ): Promise<SignResult> {
    const credential = o.kubernetesToken
      ? { kubernetesToken: o.kubernetesToken }
      : o.joinToken
        ? { joinToken: o.joinToken }
        : null;
    const client = this.client(roots, credential ? null : o.identity);
    const request = { csr, ...credential, ttlSeconds: o.ttlSeconds };
    return new Promise<SignResult>((resolve, reject) => {
      client.SignCertificate(
        request,
        new Metadata(),
        { deadline: Date.now() + this.o.timeoutMs },
        (err, res) => {
          client.close();
          if (err || !res) return reject(err ?? new Error('empty response'));
          resolve({ chain: res.certChain, roots: res.trustBundle, spiffeId: res.spiffeId });
        },
      );
    });
  }

  /** Follows WatchTrustBundle; returns a function that cancels it. `onEnd` fires once. */
  watchBundle(
    roots: readonly Buffer[],
    onBundle: (roots: Buffer[], sequence: number) => void,
    onEnd: (err: ServiceError | null) => void,
  ): () => void {
    const client = this.client(roots, null);
    const stream = client.WatchTrustBundle({});
    let ended = false;
    const end = (err: ServiceError | null) => {
      if (ended) return;
      ended = true;
      client.close();
      onEnd(err);
    };
    stream.on('data', (b: TrustBundle__Output) => onBundle(b.roots, Number(b.sequence)));
    stream.on('error', (err: ServiceError) => end(err));
    stream.on('end', () => end(null));
    return () => {
      ended = true;
      stream.cancel();
      client.close();
    };
  }
}
