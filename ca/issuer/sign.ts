// Turns a TBSCertificate into a signed DER certificate with a node:crypto KeyObject.
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, type TBSCertificate } from '@peculiar/asn1-x509';
import { type SigningKey, signBytes } from './signing-key.js';

/** Signs the template with the CA key and returns the certificate's DER. */
export function signCertificate(template: TBSCertificate, signer: SigningKey): Buffer {
  template.signature = signer.algorithm;
  const tbsDer = new Uint8Array(AsnConvert.serialize(template));
  const signatureValue = signBytes(signer, tbsDer);
  const cert = new Certificate({
    tbsCertificate: template,
    signatureAlgorithm: signer.algorithm,
    signatureValue: new Uint8Array(signatureValue).buffer,
  });
  return Buffer.from(AsnConvert.serialize(cert));
}
