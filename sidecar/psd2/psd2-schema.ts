// ASN.1 schema of the PSD2 QCStatement (ETSI TS 119 495 §5.1, id 0.4.0.19495.2), which the
// @peculiar qualified-certificate packages do not ship: roles of the PSP plus the NCA's name and id.
import { AsnArray, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';

export const id_etsi_psd2_qcStatement = '0.4.0.19495.2';

/** RoleOfPSP ::= SEQUENCE { roleOfPspOid OBJECT IDENTIFIER, roleOfPspName UTF8String (SIZE(256)) } */
export class RoleOfPsp {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier })
  public roleOfPspOid = '';

  @AsnProp({ type: AsnPropTypes.Utf8String })
  public roleOfPspName = '';
}

/** RolesOfPSP ::= SEQUENCE OF RoleOfPSP */
@AsnType({ type: AsnTypeTypes.Sequence, itemType: RoleOfPsp })
export class RolesOfPsp extends AsnArray<RoleOfPsp> {}

/** PSD2QcType ::= SEQUENCE { rolesOfPSP RolesOfPSP, nCAName NCAName, nCAId NCAId } */
export class Psd2QcType {
  @AsnProp({ type: RolesOfPsp })
  public rolesOfPsp = new RolesOfPsp();

  @AsnProp({ type: AsnPropTypes.Utf8String })
  public ncaName = '';

  @AsnProp({ type: AsnPropTypes.Utf8String })
  public ncaId = '';
}
