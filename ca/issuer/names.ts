// Distinguished names for the CA certificates Tether creates. Leaves have an empty subject.
import { AttributeTypeAndValue, AttributeValue, Name, RelativeDistinguishedName } from '@peculiar/asn1-x509';

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
const OID_SERIAL_NUMBER = '2.5.4.5';

function rdn(type: string, value: string): RelativeDistinguishedName {
  return new RelativeDistinguishedName([
    new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) }),
  ]);
}

/**
 * Subject of a Tether CA certificate. Each generation gets a unique subject (via the serial
 * number attribute), because verifiers slow down and can pick the wrong issuer when many CA
 * certificates share one subject.
 */
export function caSubject(commonName: string, generationId: string): Name {
  return new Name([rdn(OID_O, 'Tether'), rdn(OID_CN, commonName), rdn(OID_SERIAL_NUMBER, generationId)]);
}

/** The empty subject of an X.509-SVID (its identity lives in the critical SAN extension). */
export function emptySubject(): Name {
  return new Name([]);
}
