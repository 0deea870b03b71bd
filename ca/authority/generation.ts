// Creates CA generations (a root, or an intermediate under a root or the upstream CA): key,
// certificate, key file on disk, and the record to store.

import type { KeyObject } from 'node:crypto';
import { randomBytes, X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, id_ce_subjectKeyIdentifier, SubjectKeyIdentifier } from '@peculiar/asn1-x509';
import { caSubject } from '../issuer/names.js';
import { signCertificate } from '../issuer/sign.js';
import { signingKeyFor } from '../issuer/signing-key.js';
import { buildCaTemplate, type IssuerInfo } from '../issuer/template.js';
import type { CaGeneration, GenerationState } from '../store/store.js';
import { type CaKeyType, generateCaKey, writeKeyFile } from './keys.js';

/** Clock-skew allowance applied to every CA certificate's notBefore (design.md §3). */
export const BACKDATE_MS = 60_000;

/**
 * The allowance for leaves (workload certificates and the CA's serving certificate), which are
 * fresh all the time: a peer whose clock is behind by more than this rejects one as "not yet
 * valid". 5 min, as Kubernetes' CSR signer uses, survives test/faults/clock-skew.test.ts (±2 min).
 */
export const LEAF_BACKDATE_MS = 5 * 60_000;

export interface KeyStorage {
  readonly keysDir: string;
  readonly passphrase: string | null;
}

export interface NewGeneration {
  readonly generation: CaGeneration;
  readonly key: KeyObject;
}

function newId(kind: string, now: number): string {
  return `${kind}-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The issuer-side facts (subject, SKI) a child certificate needs from its CA certificate. */
export function issuerInfoOf(certDer: Uint8Array): IssuerInfo {
  const cert = AsnConvert.parse(certDer, Certificate);
  const skiExt = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  const subjectKeyId = skiExt
    ? new Uint8Array(AsnConvert.parse(skiExt.extnValue.buffer, SubjectKeyIdentifier).buffer)
    : new Uint8Array(0);
  return { subject: cert.tbsCertificate.subject, subjectKeyId };
}

function record(
  kind: CaGeneration['kind'],
  id: string,
  parentId: string | null,
  certDer: Buffer,
  state: GenerationState,
  now: number,
): CaGeneration {
  const x = new X509Certificate(certDer);
  return {
    id,
    kind,
    parentId,
    certDer,
    keyFile: `${id}.key.pem`,
    notBefore: Date.parse(x.validFrom),
    notAfter: Date.parse(x.validTo),
    state,
    createdAt: now,
    activatedAt: state === 'active' ? now : null,
    retiredAt: null,
  };
}

/** A self-signed root with a unique subject. */
export function createRoot(opts: {
  now: number;
  trustDomain: string;
  keyType: CaKeyType;
  ttlSeconds: number;
  state: GenerationState;
  storage: KeyStorage;
}): NewGeneration {
  const id = newId('root', opts.now);
  const { privateKey, publicKey } = generateCaKey(opts.keyType);
  const template = buildCaTemplate(
    {
      subject: caSubject(`Tether Root CA ${opts.trustDomain}`, id),
      spki: publicKey.export({ type: 'spki', format: 'der' }),
      notBefore: new Date(opts.now - BACKDATE_MS),
      notAfter: new Date(opts.now + opts.ttlSeconds * 1000),
    },
    null,
  );
  const certDer = signCertificate(template, signingKeyFor(privateKey));
  const generation = record('root', id, null, certDer, opts.state, opts.now);
  writeKeyFile(opts.storage.keysDir, generation.keyFile, privateKey, opts.storage.passphrase);
  return { generation, key: privateKey };
}

/** An intermediate signing CA under `parent`, valid no longer than its parent, limited to the trust domain. */
export function createIntermediate(opts: {
  now: number;
  trustDomain: string;
  keyType: CaKeyType;
  ttlSeconds: number;
  state: GenerationState;
  parent: CaGeneration;
  parentKey: KeyObject;
  storage: KeyStorage;
}): NewGeneration {
  const id = newId('int', opts.now);
  const { privateKey, publicKey } = generateCaKey(opts.keyType);
  const template = buildCaTemplate(
    {
      subject: caSubject(`Tether Intermediate CA ${opts.trustDomain}`, id),
      spki: publicKey.export({ type: 'spki', format: 'der' }),
      notBefore: new Date(opts.now - BACKDATE_MS),
      notAfter: new Date(Math.min(opts.now + opts.ttlSeconds * 1000, opts.parent.notAfter)),
      pathLength: 0,
      permittedTrustDomain: opts.trustDomain,
    },
    issuerInfoOf(opts.parent.certDer),
  );
  const certDer = signCertificate(template, signingKeyFor(opts.parentKey));
  const generation = record('intermediate', id, opts.parent.id, certDer, opts.state, opts.now);
  writeKeyFile(opts.storage.keysDir, generation.keyFile, privateKey, opts.storage.passphrase);
  return { generation, key: privateKey };
}

/** Records an operator-supplied upstream CA (its key is copied into the data dir, encrypted if asked). */
export function adoptUpstream(opts: {
  now: number;
  certDer: Buffer;
  key: KeyObject;
  storage: KeyStorage;
}): NewGeneration {
  const id = newId('upstream', opts.now);
  const generation = record('upstream', id, null, opts.certDer, 'active', opts.now);
  writeKeyFile(opts.storage.keysDir, generation.keyFile, opts.key, opts.storage.passphrase);
  return { generation, key: opts.key };
}
