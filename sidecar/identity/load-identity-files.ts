// Reads an operator-supplied identity (e.g. a QWAC): PEM certificate chain + PEM key, or a
// PKCS#12 file with its password in another file (node-forge, the one place we use it). The key
// must match the leaf, and the leaf must be inside its validity window.
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type Forge from 'node-forge';
import { fromPem } from '../../common/pem.js';
import { makeSvid, type Svid } from './svid.js';

export type IdentityFiles =
  | { readonly certFile: string; readonly keyFile: string }
  | { readonly p12File: string; readonly passwordFile: string };

/** The bytes of every file an identity is read from, for change detection. */
export function identityFileNames(files: IdentityFiles): string[] {
  return 'p12File' in files ? [files.p12File, files.passwordFile] : [files.certFile, files.keyFile];
}

// node-forge costs ~70 ms of every sidecar's start to load; only PKCS#12 identities need it.
const require = createRequire(import.meta.url);
let forgeModule: typeof Forge | undefined;
const loadForge = (): typeof Forge => {
  forgeModule ??= require('node-forge') as typeof Forge;
  return forgeModule;
};

function forgeDer(obj: Forge.asn1.Asn1): Buffer {
  return Buffer.from(loadForge().asn1.toDer(obj).getBytes(), 'binary');
}

/** Key and certificates (DER) from a PKCS#12 file; forge leaves non-RSA items as raw ASN.1. */
function readP12(file: string, password: string): { key: KeyObject; certs: Buffer[] } {
  const forge = loadForge();
  const der = readFileSync(file);
  const p12 = forge.pkcs12.pkcs12FromAsn1(
    forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary'))),
    password,
  );
  const oids = forge.pki.oids;
  const keyBags = [
    ...(p12.getBags({ bagType: oids['pkcs8ShroudedKeyBag']! })[oids['pkcs8ShroudedKeyBag']!] ?? []),
    ...(p12.getBags({ bagType: oids['keyBag']! })[oids['keyBag']!] ?? []),
  ];
  if (keyBags.length !== 1) throw new Error(`expected one private key, found ${keyBags.length}`);
  const bag = keyBags[0]!;
  const keyDer = bag.key
    ? forgeDer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)))
    : forgeDer(bag.asn1);
  const key = createPrivateKey({ key: keyDer, format: 'der', type: 'pkcs8' });
  const certs = (p12.getBags({ bagType: oids['certBag']! })[oids['certBag']!] ?? []).map((b) =>
    b.cert ? forgeDer(forge.pki.certificateToAsn1(b.cert)) : forgeDer(b.asn1),
  );
  return { key, certs };
}

function readPem(certFile: string, keyFile: string): { key: KeyObject; certs: Buffer[] } {
  const certs = fromPem(readFileSync(certFile, 'utf8'));
  if (certs.length === 0) throw new Error(`${certFile} holds no PEM certificate`);
  return { key: createPrivateKey(readFileSync(keyFile, 'utf8')), certs };
}

const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' }).toString('base64');

/** Leaf first (the certificate matching the key), then the others that are not self-signed roots. */
function orderChain(key: KeyObject, certs: Buffer[]): Buffer[] {
  const pub = spki(createPublicKey(key));
  const leafIndex = certs.findIndex((c) => spki(new X509Certificate(c).publicKey) === pub);
  if (leafIndex < 0) throw new Error('no certificate matches the private key');
  const rest = certs.filter((c, i) => {
    if (i === leafIndex) return false;
    const x = new X509Certificate(c);
    return !(x.subject === x.issuer && x.verify(x.publicKey));
  });
  return [certs[leafIndex]!, ...rest];
}

/** Loads and checks an identity; throws an Error whose message says what is wrong. */
export function loadIdentityFiles(files: IdentityFiles, nowMs: number): Svid {
  const { key, certs } =
    'p12File' in files
      ? readP12(files.p12File, readFileSync(files.passwordFile, 'utf8').replace(/\r?\n$/, ''))
      : readPem(files.certFile, files.keyFile);
  const svid = makeSvid(key, orderChain(key, certs), nowMs);
  if (nowMs < svid.notBefore || nowMs >= svid.notAfter)
    throw new Error(
      `certificate ${svid.serial} is outside its validity (${svid.leaf.validFrom} – ${svid.leaf.validTo})`,
    );
  return svid;
}
