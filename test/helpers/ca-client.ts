// A typed grpc-js client for the CA, for tests (and a model for the sidecar's own client).
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { caProto } from '../../common/proto.js';
import type { CertificateAuthorityClient } from '../../proto/gen/tether/ca/v1/CertificateAuthority.js';
import type { SignCertificateRequest } from '../../proto/gen/tether/ca/v1/SignCertificateRequest.js';
import type { SignCertificateResponse__Output } from '../../proto/gen/tether/ca/v1/SignCertificateResponse.js';

export interface ClientIdentity {
  keyPem: string;
  chainPem: string;
}

export function caClient(
  address: string,
  bundlePem: string,
  identity?: ClientIdentity,
): CertificateAuthorityClient {
  const creds = identity
    ? credentials.createSsl(
        Buffer.from(bundlePem),
        Buffer.from(identity.keyPem),
        Buffer.from(identity.chainPem),
      )
    : credentials.createSsl(Buffer.from(bundlePem));
  const Ctor = caProto().tether.ca.v1.CertificateAuthority;
  // The serving certificate carries the IP SAN too; naming localhost avoids an IP in TLS SNI.
  return new Ctor(address, creds, {
    'grpc.ssl_target_name_override': 'localhost',
    'grpc.default_authority': 'localhost',
  });
}

/** SignCertificate as a promise. Rejects with the grpc ServiceError (code, details). */
export function signCertificate(
  client: CertificateAuthorityClient,
  req: SignCertificateRequest,
): Promise<SignCertificateResponse__Output> {
  return new Promise((resolve, reject) => {
    client.SignCertificate(req, new Metadata(), { deadline: Date.now() + 15_000 }, (err, res) => {
      if (err) reject(err);
      else resolve(res!);
    });
  });
}

export type { ServiceError };
