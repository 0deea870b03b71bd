// gRPC edge of the CA: tether.ca.v1.CertificateAuthority over TLS. Converts wire messages to
// issuer calls and TetherErrors to status codes, logs each refusal once, and streams bundles.
import { X509Certificate } from 'node:crypto';
import {
  experimental,
  Metadata,
  Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { asTetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import { certsToPem } from '../../common/pem.js';
import { caProto } from '../../common/proto.js';
import type { SignCertificateRequest__Output } from '../../proto/gen/tether/ca/v1/SignCertificateRequest.js';
import type { SignCertificateResponse } from '../../proto/gen/tether/ca/v1/SignCertificateResponse.js';
import type { TrustBundle } from '../../proto/gen/tether/ca/v1/TrustBundle.js';
import type { WatchTrustBundleRequest__Output } from '../../proto/gen/tether/ca/v1/WatchTrustBundleRequest.js';
import type { Credential, Peer } from '../attestation/attestor.js';
import type { Authority } from '../authority/authority.js';
import type { ServingIdentity } from '../authority/serving-identity.js';
import type { Issuer } from '../issuer/issuer.js';
import type { CaMetrics } from '../ops/metrics.js';
import { GRPC_STATUS } from './status-map.js';
import { TlsMaterialProvider } from './tls-provider.js';

export interface GrpcServerOptions {
  readonly log: Logger;
  readonly issuer: Issuer;
  readonly authority: Authority;
  readonly serving: ServingIdentity;
  readonly metrics: CaMetrics;
  readonly maxMessageBytes: number;
}

function credentialOf(req: SignCertificateRequest__Output): Credential {
  if (req.credential === 'joinToken') return { kind: 'join_token', token: req.joinToken ?? '' };
  if (req.credential === 'kubernetesToken')
    return { kind: 'kubernetes_token', token: req.kubernetesToken ?? '' };
  return { kind: 'none' };
}

function peerOf(call: ServerUnaryCall<unknown, unknown>): Peer {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
  let certificate: X509Certificate | null = null;
  if (raw) {
    try {
      certificate = new X509Certificate(raw);
    } catch {
      certificate = null;
    }
  }
  return { address: call.getPeer(), certificate };
}

function bundleMessage(authority: Authority): TrustBundle {
  const bundle = authority.bundle();
  return { roots: [...bundle.roots], sequence: String(bundle.sequence) };
}

export class CaGrpcServer {
  private readonly server: Server;
  private readonly tls = new TlsMaterialProvider();

  constructor(private readonly o: GrpcServerOptions) {
    this.server = new Server({
      'grpc.max_receive_message_length': o.maxMessageBytes,
      'grpc.max_send_message_length': 4 * 1024 * 1024,
      'grpc.max_concurrent_streams': 1000,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      // Channelz stays on (the default): with 'grpc.enable_channelz': 0, grpc-js 1.14 stops tracking
      // sessions, so forceShutdown leaves open WatchTrustBundle streams alive and the CA takes
      // until the 60 s keepalive to exit (caught by the CA-outage rotation test).
    });
    const service = caProto().tether.ca.v1.CertificateAuthority.service;
    this.server.addService(service, {
      SignCertificate: (
        call: ServerUnaryCall<SignCertificateRequest__Output, SignCertificateResponse>,
        cb: sendUnaryData<SignCertificateResponse>,
      ) => void this.signCertificate(call, cb),
      WatchTrustBundle: (call: ServerWritableStream<WatchTrustBundleRequest__Output, TrustBundle>) =>
        this.watchTrustBundle(call),
    });
    o.serving.onChange((cert) => this.tls.setIdentity(cert.chainPem, cert.keyPem));
    o.authority.onChange(() => this.tls.setCa(certsToPem(o.authority.bundle().roots)));
  }

  /** Binds `host:port` (port 0 picks a free one) and returns the bound port. */
  async listen(address: string): Promise<number> {
    const current = this.o.serving.get();
    if (!current) throw new Error('serving identity must be issued before listening');
    this.tls.setIdentity(current.chainPem, current.keyPem);
    this.tls.setCa(certsToPem(this.o.authority.bundle().roots));
    const creds = experimental.createCertificateProviderServerCredentials(this.tls, this.tls, false);
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, creds, (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /** Stops accepting calls; waits up to `graceMs` for in-flight ones, then cancels the rest. */
  async close(graceMs: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private async signCertificate(
    call: ServerUnaryCall<SignCertificateRequest__Output, SignCertificateResponse>,
    cb: sendUnaryData<SignCertificateResponse>,
  ): Promise<void> {
    const peer = peerOf(call);
    try {
      const issued = await this.o.issuer.issue({
        csr: call.request.csr,
        credential: credentialOf(call.request),
        ttlSeconds: call.request.ttlSeconds,
        peer,
      });
      cb(null, {
        certChain: issued.certChain,
        trustBundle: issued.trustBundle,
        spiffeId: issued.spiffeId,
        // A number encodes without protobufjs's Long-from-string parse; the wire bytes are the same.
        expiresAtUnix: Math.floor(issued.notAfter.getTime() / 1000),
      });
    } catch (err) {
      const e = asTetherError(err);
      const code = GRPC_STATUS[e.code];
      const level = code === status.INTERNAL ? 'error' : 'warn';
      this.o.log[level](
        { code: e.code, peer: peer.address, err: e.cause ?? undefined },
        `SignCertificate refused: ${e.message}`,
      );
      const metadata = new Metadata();
      metadata.set('tether-error-code', e.code);
      cb({ code, details: e.message, metadata });
    }
  }

  private watchTrustBundle(call: ServerWritableStream<WatchTrustBundleRequest__Output, TrustBundle>): void {
    this.o.metrics.bundleWatchers.inc();
    call.write(bundleMessage(this.o.authority));
    const unsubscribe = this.o.authority.onChange((change) => {
      if (change.bundleChanged) call.write(bundleMessage(this.o.authority));
    });
    let finished = false;
    // grpc-js emits both 'cancelled' and 'close' for a cancelled stream: clean up exactly once.
    const done = () => {
      if (finished) return;
      finished = true;
      unsubscribe();
      this.o.metrics.bundleWatchers.dec();
    };
    call.once('cancelled', done);
    call.once('close', done);
  }
}
