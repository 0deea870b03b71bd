// Issuance as a pipeline of named steps:
//   guard → parseCsr → attest → authorize → encode+sign (leaf-der.ts) → checkIssuedLeaf → record.
// Knows nothing about gRPC: the edge converts wire messages in and TetherErrors out.
import { hash } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { asTetherError, TetherError } from '../../common/errors.js';
import { type Logger, REDACTED_KEYS } from '../../common/logging.js';
import type { Attestation, AttestationInput, Attestor, Credential, Peer } from '../attestation/attestor.js';
import type { Authority, SigningCa } from '../authority/authority.js';
import { LEAF_BACKDATE_MS } from '../authority/generation.js';
import { type ParsedCsr, parseCsr } from '../csr/parse-csr.js';
import type { FailureTracker } from '../limits/failure-tracker.js';
import type { TokenBucket } from '../limits/token-bucket.js';
import type { ActivityLog } from '../ops/activity.js';
import type { CaMetrics } from '../ops/metrics.js';
import type { Store } from '../store/store.js';
import { authorize, checkCsrShape } from './authorize.js';
import { checkIssuedLeaf, type IssuerFacts, issuerFactsOf } from './check-leaf.js';
import { LeafEncoder } from './leaf-der.js';
import { resolveTtlSeconds, type TtlPolicy } from './ttl.js';

export interface IssueRequest {
  readonly csr: Uint8Array;
  readonly credential: Credential;
  readonly ttlSeconds: number;
  readonly peer: Peer;
}

export interface Issued {
  readonly spiffeId: string;
  readonly serial: string;
  readonly notAfter: Date;
  /** DER, leaf first. */
  readonly certChain: Buffer[];
  readonly trustBundle: Buffer[];
}

export interface IssuerOptions {
  readonly log: Logger;
  readonly clock: Clock;
  readonly authority: Authority;
  readonly store: Store;
  readonly attestors: readonly Attestor[];
  readonly ttl: TtlPolicy;
  readonly csrRate: TokenBucket;
  readonly failures: FailureTracker;
  readonly metrics: CaMetrics;
  readonly maxCsrBytes: number;
  /** Recent issuances and refusals for the status page (optional). */
  readonly activity?: ActivityLog;
}

const CREDENTIAL_FAILURES = new Set(['ERR_CREDENTIAL_INVALID', 'ERR_CREDENTIAL_MISSING']);

/** The host part of "ip:port" / "[v6]:port", the key for per-source limits. */
export function sourceOf(address: string): string {
  const m = /^\[?(.*?)\]?:\d+$/.exec(address.replace(/^ipv[46]:/, ''));
  return m?.[1] ?? address;
}

/**
 * The key failed attempts with the same credential are counted under, whatever the source:
 * a token's hash prefix, or the presented certificate's serial.
 */
export function credentialKeyOf(credential: Credential, peer: Peer): string | null {
  if (credential.kind !== 'none') {
    // A join token or a Kubernetes token: keyed by a hash prefix, never by the secret itself.
    return `credential:${hash('sha256', credential.token, 'hex').slice(0, 16)}`;
  }
  return peer.certificate ? `certificate:${peer.certificate.serialNumber.toLowerCase()}` : null;
}

/** The fields every activity event shares; the rest are null until the outcome sets them. */
function activityBase(at: number, peer: Peer, attestor: string, spiffeId: string | null) {
  return {
    at,
    peer: peer.address,
    attestor,
    spiffeId,
    serial: null,
    notAfter: null,
    code: null,
    message: null,
  };
}

/** Per signing CA: the proven leaf encoder and what its leaves must repeat from it. */
interface SigningTools {
  readonly encoder: LeafEncoder;
  readonly facts: IssuerFacts;
}

/** The audit line's fields: flat strings only, so top-level redaction covers every key. */
type AuditFields = Readonly<Record<string, string>>;

export class Issuer {
  private readonly tools = new WeakMap<SigningCa, SigningTools>();
  /**
   * The per-certificate audit line's logger. pino's nested-path (`*.key`) redaction clones and
   * walks every field, even strings (~60 µs a line); this line's fields are flat strings, so the
   * same key names redacted at the top level are the whole protection, at ~8 µs.
   */
  private readonly audit: { info(fields: AuditFields, msg: string): void };

  constructor(private readonly o: IssuerOptions) {
    this.audit = o.log.child({}, { redact: { paths: [...REDACTED_KEYS], censor: '[redacted]' } });
  }

  /** Issues a workload certificate or throws a TetherError saying why not. */
  async issue(req: IssueRequest): Promise<Issued> {
    const started = performance.now();
    let attestor = 'none';
    let spiffeId: string | null = null;
    try {
      this.guard(req.credential, req.peer);
      const csr = parseCsr(req.csr, this.o.maxCsrBytes);
      checkCsrShape(csr);
      const attested = await this.attest({
        credential: req.credential,
        peer: req.peer,
        now: this.o.clock.now(),
      });
      attestor = attested.attestor;
      spiffeId = attested.spiffeId.toString();
      const dnsNames = await authorize(attested, csr, this.o.authority.trustDomain, this.o.store);
      const issued = await this.signAndRecord(attested, csr, dnsNames, req);
      this.o.metrics.csr.inc({ result: 'issued', attestor });
      this.o.metrics.signSeconds.observe((performance.now() - started) / 1000);
      this.o.activity?.record({
        ...activityBase(this.o.clock.now(), req.peer, attestor, issued.spiffeId),
        outcome: 'issued',
        serial: issued.serial,
        notAfter: issued.notAfter.getTime(),
      });
      return issued;
    } catch (err) {
      const e = asTetherError(err);
      this.o.metrics.csr.inc({ result: e.code, attestor });
      this.o.activity?.record({
        ...activityBase(this.o.clock.now(), req.peer, attestor, spiffeId),
        outcome: 'refused',
        code: e.code,
        message: e.message,
      });
      throw err;
    }
  }

  /** Refuses blocked sources and enforces the global CSR rate before doing any work. */
  private guard(credential: Credential, peer: Peer): void {
    const credentialKey = credentialKeyOf(credential, peer);
    const blockedMs = Math.max(
      this.o.failures.blockedFor(`source:${sourceOf(peer.address)}`),
      credentialKey ? this.o.failures.blockedFor(credentialKey) : 0,
    );
    if (blockedMs > 0) {
      this.o.metrics.rateLimited.inc({ limit: 'source_blocked' });
      throw new TetherError(
        'ERR_SOURCE_BLOCKED',
        `too many failed attestations from this source or with this credential; retry in ${Math.ceil(blockedMs / 1000)} s`,
      );
    }
    const waitMs = this.o.csrRate.take();
    if (waitMs > 0) {
      this.o.metrics.rateLimited.inc({ limit: 'csr_rate' });
      throw new TetherError('ERR_RATE_LIMITED', `the CA is at its CSR rate limit; retry in ${waitMs} ms`);
    }
  }

  private async attest(input: AttestationInput): Promise<Attestation> {
    const attestor = this.o.attestors.find((a) => a.handles(input));
    if (!attestor) {
      throw new TetherError(
        'ERR_CREDENTIAL_INVALID',
        `credential type ${input.credential.kind} is not enabled on this CA`,
      );
    }
    try {
      return await attestor.attest(input);
    } catch (err) {
      if (err instanceof TetherError && CREDENTIAL_FAILURES.has(err.code))
        this.recordFailure(attestor.name, input);
      throw err;
    }
  }

  private recordFailure(attestor: string, input: AttestationInput): void {
    this.o.metrics.attestationFailures.inc({ attestor });
    const source = sourceOf(input.peer.address);
    if (this.o.failures.recordFailure(`source:${source}`)) {
      this.o.log.warn({ source, attestor }, 'source blocked after repeated failed attestations');
    }
    const credentialKey = credentialKeyOf(input.credential, input.peer);
    if (credentialKey && this.o.failures.recordFailure(credentialKey)) {
      this.o.log.warn(
        { credential: credentialKey, attestor },
        'credential blocked after repeated failed attestations',
      );
    }
    this.o.metrics.blockedSources.set(this.o.failures.blocked().length);
  }

  private async signAndRecord(
    attested: Attestation,
    csr: ParsedCsr,
    dnsNames: string[],
    req: IssueRequest,
  ): Promise<Issued> {
    const ca = this.o.authority.signingCa();
    const { encoder, facts } = this.toolsFor(ca);
    const now = this.o.clock.now();
    const ttlSeconds = resolveTtlSeconds(req.ttlSeconds, this.o.ttl, attested.maxTtlSeconds);
    const spiffeId = attested.spiffeId.toString();
    const parts = {
      spiffeId,
      dnsNames,
      spki: csr.spki,
      keyType: csr.keyType,
      notBefore: now - LEAF_BACKDATE_MS,
      notAfter: Math.min(now + ttlSeconds * 1000, ca.generation.notAfter),
    };
    const leaf = encoder.issue(parts);
    const der = leaf.der;
    checkIssuedLeaf(der, { ...parts, ...leaf }, facts);
    const { serial, notAfter } = leaf;
    await this.o.store.recordIssuance(
      {
        serial,
        spiffeId,
        notBefore: leaf.notBefore,
        notAfter,
        attestor: attested.attestor,
        peer: req.peer.address,
        generationId: ca.generation.id,
        issuedAt: now,
      },
      attested.redemption,
      now,
    );
    this.audit.info(
      {
        serial,
        spiffeId,
        notAfter: new Date(notAfter).toISOString(),
        attestor: attested.attestor,
        peer: req.peer.address,
      },
      'certificate issued',
    );
    return {
      spiffeId,
      serial,
      notAfter: new Date(notAfter),
      certChain: [der, ...ca.chain],
      trustBundle: [...this.o.authority.bundle().roots],
    };
  }

  private toolsFor(ca: SigningCa): SigningTools {
    let tools = this.tools.get(ca);
    if (!tools) {
      const cert = this.o.authority.certificateOf(ca.generation);
      tools = { encoder: LeafEncoder.create(ca.issuer, ca.signer, cert), facts: issuerFactsOf(cert) };
      this.tools.set(ca, tools);
    }
    return tools;
  }
}
