// Named bad-certificate fixtures, generated at run time: a leaf from a foreign PKI, and leaves
// signed by a real CA's active intermediate with chosen validity (e.g. expired) or identity.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { issuerInfoOf } from '../../ca/authority/generation.js';
import { caSubject } from '../../ca/issuer/names.js';
import { signCertificate } from '../../ca/issuer/sign.js';
import { signingKeyFor } from '../../ca/issuer/signing-key.js';
import { buildCaTemplate, buildLeafTemplate } from '../../ca/issuer/template.js';
import { SqliteStore } from '../../ca/store/sqlite.js';
import { certsToPem } from '../../common/pem.js';
import { parseWorkloadId } from '../../common/spiffe-id.js';
import { newKey } from './workload.js';

export interface PemIdentity {
  keyPem: string;
  chainPem: string;
}

/** A leaf for `spiffeId` signed by the CA's real active intermediate, valid from/to the given times. */
export async function leafFromCa(
  dataDir: string,
  spiffeId: string,
  notBefore: Date,
  notAfter: Date,
  dnsNames: string[] = [],
): Promise<PemIdentity> {
  const store = new SqliteStore(path.join(dataDir, 'tether.db'), { create: false });
  const active = (await store.generations()).find((g) => g.kind === 'intermediate' && g.state === 'active')!;
  await store.close();
  const caKey = createPrivateKey(readFileSync(path.join(dataDir, 'keys', active.keyFile)));
  const key = newKey();
  const der = signCertificate(
    buildLeafTemplate(
      {
        spiffeId: parseWorkloadId(spiffeId),
        dnsNames,
        spki: createPublicKey(key).export({ type: 'spki', format: 'der' }),
        keyType: 'ec',
        notBefore,
        notAfter,
      },
      issuerInfoOf(active.certDer),
    ),
    signingKeyFor(caKey),
  );
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    chainPem: certsToPem([der, active.certDer]),
  };
}

/** A complete foreign PKI (its own root) issuing a leaf for `spiffeId`: same name, wrong trust. */
export function foreignLeaf(spiffeId: string): PemIdentity {
  const root = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = Date.now();
  const rootDer = signCertificate(
    buildCaTemplate(
      {
        subject: caSubject('Foreign Root', 'x'),
        spki: root.publicKey.export({ type: 'spki', format: 'der' }),
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 3600_000),
      },
      null,
    ),
    signingKeyFor(root.privateKey),
  );
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const leafDer = signCertificate(
    buildLeafTemplate(
      {
        spiffeId: parseWorkloadId(spiffeId),
        dnsNames: [],
        spki: leaf.publicKey.export({ type: 'spki', format: 'der' }),
        keyType: 'ec',
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 3600_000),
      },
      issuerInfoOf(rootDer),
    ),
    signingKeyFor(root.privateKey),
  );
  return {
    keyPem: leaf.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    chainPem: certsToPem([leafDer, rootDer]),
  };
}
