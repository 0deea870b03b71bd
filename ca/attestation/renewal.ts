// Renewal: a caller that presents its current, unexpired certificate from this CA over mTLS
// may renew the same identity (and the DNS names it already has). grpc-js completes handshakes
// with any client certificate but only exposes ones that passed TLS verification against the
// bundle; the chain is checked again here, against our own intermediates, as defence in depth.
import { TetherError } from '../../common/errors.js';
import { parseWorkloadId } from '../../common/spiffe-id.js';
import { readSans, serialHex } from '../../common/x509.js';
import type { Authority } from '../authority/authority.js';
import type { Attestation, AttestationInput, Attestor } from './attestor.js';

export class RenewalAttestor implements Attestor {
  readonly name = 'renewal';

  constructor(private readonly authority: Authority) {}

  handles(input: AttestationInput): boolean {
    return input.credential.kind === 'none';
  }

  async attest(input: AttestationInput): Promise<Attestation> {
    const cert = input.peer.certificate;
    if (!cert) {
      throw new TetherError(
        'ERR_CREDENTIAL_MISSING',
        'no credential: send a join_token or kubernetes_token, or renew over mTLS with a current certificate ' +
          'issued by this CA (a client certificate that is expired or chains to another CA is ignored)',
      );
    }
    if (cert.ca) throw new TetherError('ERR_CREDENTIAL_INVALID', 'a CA certificate cannot be used to renew');
    if (!this.authority.findIssuerOf(cert)) {
      throw new TetherError('ERR_CREDENTIAL_INVALID', 'the client certificate was not issued by this CA');
    }
    const notBefore = Date.parse(cert.validFrom);
    const notAfter = Date.parse(cert.validTo);
    if (input.now < notBefore || input.now >= notAfter) {
      throw new TetherError(
        'ERR_CREDENTIAL_INVALID',
        'the client certificate is expired or not yet valid; re-attest with a credential',
      );
    }
    const sans = readSans(cert.raw);
    if (sans.uris.length !== 1)
      throw new TetherError('ERR_CREDENTIAL_INVALID', 'the client certificate has no single SPIFFE ID');
    return {
      spiffeId: parseWorkloadId(sans.uris[0]!),
      dnsNames: sans.dnsNames,
      maxTtlSeconds: null,
      attestor: this.name,
      redemption: null,
      presentedSerial: serialHex(cert),
    };
  }
}
