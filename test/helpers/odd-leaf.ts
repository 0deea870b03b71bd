// Leaves that break the X.509-SVID rules on purpose (no URI SAN, two URI SANs, a non-SPIFFE URI),
// built from the production leaf template with its SAN extension swapped. Keys are generated at
// run time; nothing here is a committed fixture.
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Extension, GeneralName, id_ce_subjectAltName, SubjectAlternativeName } from '@peculiar/asn1-x509';
import { signCertificate } from '../../ca/issuer/sign.js';
import { signingKeyFor } from '../../ca/issuer/signing-key.js';
import { buildLeafTemplate } from '../../ca/issuer/template.js';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import { ecKey, spkiOf, type TestCa } from './pki.js';

/** A leaf signed by `issuer` whose SAN extension holds exactly `uris` and `dnsNames` (dropped when both are empty). */
export function makeLeafWithSans(
  issuer: TestCa,
  sans: { uris: readonly string[]; dnsNames?: readonly string[] },
  opts: { notBefore: Date; notAfter: Date },
): Buffer {
  const template = buildLeafTemplate(
    {
      spiffeId: parseSpiffeId('spiffe://example.org/placeholder'),
      dnsNames: [],
      spki: spkiOf(ecKey().publicKey),
      keyType: 'ec',
      notBefore: opts.notBefore,
      notAfter: opts.notAfter,
    },
    issuer.info,
  );
  const names = [
    ...sans.uris.map((uniformResourceIdentifier) => new GeneralName({ uniformResourceIdentifier })),
    ...(sans.dnsNames ?? []).map((dNSName) => new GeneralName({ dNSName })),
  ];
  const extensions = template.extensions!;
  const i = extensions.findIndex((e) => e.extnID === id_ce_subjectAltName);
  if (names.length === 0) {
    extensions.splice(i, 1);
  } else {
    extensions[i] = new Extension({
      extnID: id_ce_subjectAltName,
      critical: true,
      extnValue: new OctetString(AsnConvert.serialize(new SubjectAlternativeName(names))),
    });
  }
  return signCertificate(template, signingKeyFor(issuer.key));
}
