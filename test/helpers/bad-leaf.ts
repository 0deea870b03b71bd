// Client certificates that chain to the real CA but break the X.509-SVID profile on purpose:
// CA:true on a leaf, or an EKU without clientAuth. Signed by the CA's active intermediate;
// keys are generated at run time.
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  BasicConstraints,
  ExtendedKeyUsage,
  Extension,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import { issuerInfoOf } from '../../ca/authority/generation.js';
import { signCertificate } from '../../ca/issuer/sign.js';
import { signingKeyFor } from '../../ca/issuer/signing-key.js';
import { buildLeafTemplate } from '../../ca/issuer/template.js';
import { SqliteStore } from '../../ca/store/sqlite.js';
import { certsToPem } from '../../common/pem.js';
import { parseWorkloadId } from '../../common/spiffe-id.js';
import type { PemIdentity } from './fixtures.js';
import { newKey } from './workload.js';

export type LeafDefect = 'ca-true' | 'no-client-auth';

function replace(extensions: Extension[], extnID: string, critical: boolean, value: object): void {
  const i = extensions.findIndex((e) => e.extnID === extnID);
  extensions[i] = new Extension({
    extnID,
    critical,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

/** A leaf for `spiffeId` from the CA in `dataDir` carrying `defect`, with its chain and key as PEM. */
export async function badLeafFromCa(
  dataDir: string,
  spiffeId: string,
  defect: LeafDefect,
): Promise<PemIdentity> {
  const store = new SqliteStore(path.join(dataDir, 'tether.db'), { create: false });
  const active = (await store.generations()).find((g) => g.kind === 'intermediate' && g.state === 'active')!;
  await store.close();
  const caKey = createPrivateKey(readFileSync(path.join(dataDir, 'keys', active.keyFile)));
  const key = newKey();
  const now = Date.now();
  const template = buildLeafTemplate(
    {
      spiffeId: parseWorkloadId(spiffeId),
      dnsNames: [],
      spki: createPublicKey(key).export({ type: 'spki', format: 'der' }),
      keyType: 'ec',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3600_000),
    },
    issuerInfoOf(active.certDer),
  );
  const extensions = template.extensions!;
  if (defect === 'ca-true')
    replace(extensions, id_ce_basicConstraints, true, new BasicConstraints({ cA: true }));
  else replace(extensions, id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth]));
  const der = signCertificate(template, signingKeyFor(caKey));
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    chainPem: certsToPem([der, active.certDer]),
  };
}
