// The CA's own TLS identity (gRPC, and later the token endpoint): a leaf under the current
// intermediate, valid for localhost, 127.0.0.1/::1, the host name and every --dns-name. It is
// reissued at half-life and whenever the signing CA changes, and pushed to listeners.
import { createPublicKey, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logging.js';
import { certsToPem } from '../../common/pem.js';
import { caServerId } from '../../common/spiffe-id.js';
import { serialHex } from '../../common/x509.js';
import { signCertificate } from '../issuer/sign.js';
import { buildLeafTemplate } from '../issuer/template.js';
import type { Store } from '../store/store.js';
import type { Authority } from './authority.js';
import { LEAF_BACKDATE_MS } from './generation.js';

export interface ServingCertificate {
  readonly chainPem: string;
  readonly keyPem: string;
  readonly leaf: X509Certificate;
}

export interface ServingIdentityOptions {
  readonly authority: Authority;
  readonly store: Store;
  readonly clock: Clock;
  readonly log: Logger;
  readonly dnsNames: readonly string[];
  readonly ttlSeconds: number;
}

export class ServingIdentity {
  private current: ServingCertificate | null = null;
  private issuedBy: string | null = null;
  private readonly key: KeyObject = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  private readonly listeners = new Set<(cert: ServingCertificate) => void>();

  constructor(private readonly o: ServingIdentityOptions) {}

  get(): ServingCertificate | null {
    return this.current;
  }

  onChange(listener: (cert: ServingCertificate) => void): void {
    this.listeners.add(listener);
  }

  /** Reissues if there is none, it is past half-life, or the signing CA changed. */
  async refresh(): Promise<void> {
    const ca = this.o.authority.signingCa();
    const now = this.o.clock.now();
    if (this.current && this.issuedBy === ca.generation.id) {
      const from = Date.parse(this.current.leaf.validFrom) + LEAF_BACKDATE_MS;
      const to = Date.parse(this.current.leaf.validTo);
      if (now < from + (to - from) / 2) return;
    }
    this.current = await this.issue(now);
    this.issuedBy = ca.generation.id;
    for (const l of this.listeners) l(this.current);
  }

  private async issue(now: number): Promise<ServingCertificate> {
    const ca = this.o.authority.signingCa();
    const spiffeId = caServerId(this.o.authority.trustDomain);
    const dnsNames = [...new Set(['localhost', hostname().toLowerCase(), ...this.o.dnsNames])];
    const spki = createPublicKey(this.key).export({ type: 'spki', format: 'der' });
    const template = buildLeafTemplate(
      {
        spiffeId,
        dnsNames,
        ipAddresses: ['127.0.0.1', '::1'],
        spki,
        keyType: 'ec',
        notBefore: new Date(now - LEAF_BACKDATE_MS),
        notAfter: new Date(Math.min(now + this.o.ttlSeconds * 1000, ca.generation.notAfter)),
      },
      ca.issuer,
    );
    const der = signCertificate(template, ca.signer);
    const leaf = new X509Certificate(der);
    const serial = serialHex(leaf);
    await this.o.store.recordIssuance(
      {
        serial,
        spiffeId: spiffeId.toString(),
        notBefore: Date.parse(leaf.validFrom),
        notAfter: Date.parse(leaf.validTo),
        attestor: 'self',
        peer: 'local',
        generationId: ca.generation.id,
        issuedAt: now,
      },
      null,
      now,
    );
    this.o.log.info(
      { serial, spiffeId: spiffeId.toString(), notAfter: leaf.validTo, dnsNames },
      'CA serving certificate issued',
    );
    const keyPem = this.key.export({ type: 'pkcs8', format: 'pem' }) as string;
    // The root goes out too, so a client pinning the root by fingerprint can bootstrap trust.
    const chain = [der, ...ca.chain, ...(ca.root ? [ca.root] : [])];
    return { chainPem: certsToPem(chain), keyPem, leaf };
  }
}
