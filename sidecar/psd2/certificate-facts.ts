// Reads the eIDAS/PSD2 facts of a (verified) certificate through @peculiar ASN.1 schemas:
// QCStatements (RFC 3739, 1.3.6.1.5.5.7.1.3) with QcCompliance, QcType and the PSD2 statement,
// and the subject's organizationIdentifier (2.5.4.97). Parsed once per connection.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { id_pe_qcStatements, QCStatements } from '@peculiar/asn1-x509-qualified';
import {
  id_etsi_qcs_qcCompliance,
  id_etsi_qcs_qcType,
  id_etsi_qct_eseal,
  id_etsi_qct_esign,
  id_etsi_qct_web,
  QcType,
} from '@peculiar/asn1-x509-qualified-etsi';
import { id_etsi_psd2_qcStatement, Psd2QcType } from './psd2-schema.js';

export const PSD2_ROLES = {
  PSP_AS: '0.4.0.19495.1.1',
  PSP_PI: '0.4.0.19495.1.2',
  PSP_AI: '0.4.0.19495.1.3',
  PSP_IC: '0.4.0.19495.1.4',
} as const;
export type Psd2Role = keyof typeof PSD2_ROLES;

const ROLE_BY_OID = new Map<string, Psd2Role>(
  Object.entries(PSD2_ROLES).map(([name, oid]) => [oid, name as Psd2Role]),
);
const QC_TYPES = new Map<string, QcTypeName>([
  [id_etsi_qct_esign, 'esign'],
  [id_etsi_qct_eseal, 'eseal'],
  [id_etsi_qct_web, 'web'],
]);
export type QcTypeName = 'esign' | 'eseal' | 'web';

export const id_at_organizationIdentifier = '2.5.4.97';

export interface CertificateFacts {
  /** Subject organizationIdentifier (ETSI EN 319 412-1 §5.1.4), e.g. PSDGB-FCA-123456. */
  readonly organizationId: string | undefined;
  readonly qcCompliance: boolean;
  readonly qcTypes: readonly QcTypeName[];
  /** PSD2 roles by name; a role OID we do not know is kept as the OID. */
  readonly psd2Roles: readonly string[];
  readonly ncaName: string | undefined;
  readonly ncaId: string | undefined;
}

function organizationIdOf(cert: Certificate): string | undefined {
  for (const rdn of cert.tbsCertificate.subject) {
    for (const atv of rdn) {
      if (atv.type === id_at_organizationIdentifier) return atv.value.toString();
    }
  }
  return undefined;
}

/** Facts of a DER certificate; throws when QCStatements is present but malformed. */
export function certificateFacts(der: Uint8Array): CertificateFacts {
  const cert = AsnConvert.parse(der, Certificate);
  const facts = {
    organizationId: organizationIdOf(cert),
    qcCompliance: false,
    qcTypes: [] as QcTypeName[],
    psd2Roles: [] as string[],
    ncaName: undefined as string | undefined,
    ncaId: undefined as string | undefined,
  };
  const ext = cert.tbsCertificate.extensions?.find((e) => e.extnID === id_pe_qcStatements);
  if (!ext) return facts;
  for (const statement of AsnConvert.parse(ext.extnValue.buffer, QCStatements)) {
    switch (statement.statementId) {
      case id_etsi_qcs_qcCompliance:
        facts.qcCompliance = true;
        break;
      case id_etsi_qcs_qcType:
        for (const oid of AsnConvert.parse(statement.statementInfo, QcType)) {
          const name = QC_TYPES.get(oid);
          if (name) facts.qcTypes.push(name);
        }
        break;
      case id_etsi_psd2_qcStatement: {
        const psd2 = AsnConvert.parse(statement.statementInfo, Psd2QcType);
        facts.psd2Roles = Array.from(
          psd2.rolesOfPsp,
          (r) => ROLE_BY_OID.get(r.roleOfPspOid) ?? r.roleOfPspOid,
        );
        facts.ncaName = psd2.ncaName;
        facts.ncaId = psd2.ncaId;
        break;
      }
    }
  }
  return facts;
}
