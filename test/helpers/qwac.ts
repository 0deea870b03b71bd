// A test QTSP and eIDAS QWACs made with the openssl CLI at run time (RSA 2048): each leaf carries
// an organizationIdentifier (2.5.4.97) and the QCStatements extension with QcCompliance, QcType
// web and the PSD2 statement (ETSI TS 119 495) naming its roles and NCA. Nothing is committed.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export type Psd2RoleName = 'PSP_AS' | 'PSP_PI' | 'PSP_AI' | 'PSP_IC';
const ROLE_OIDS: Record<Psd2RoleName, string> = {
  PSP_AS: '0.4.0.19495.1.1',
  PSP_PI: '0.4.0.19495.1.2',
  PSP_AI: '0.4.0.19495.1.3',
  PSP_IC: '0.4.0.19495.1.4',
};

export interface QwacSpec {
  readonly name: string;
  readonly commonName: string;
  readonly organizationId?: string;
  readonly roles?: readonly Psd2RoleName[];
  readonly dnsNames?: readonly string[];
  /** Default rsa:2048. */
  readonly key?: string;
}

export interface Qwac {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** RFC 4514-style subject DN as openssl prints it. */
  readonly subject: string;
}

export interface Qtsp {
  readonly dir: string;
  readonly rootFile: string;
  readonly rootPem: string;
  issue(spec: QwacSpec): Qwac;
}

function openssl(args: string[], cwd: string): string {
  return execFileSync('openssl', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function extensionConfig(spec: QwacSpec): string {
  const roles = spec.roles ?? [];
  const dns = (spec.dnsNames ?? []).map((d, i) => `DNS.${i + 1} = ${d}`).join('\n');
  const roleSections = roles
    .map((r, i) => `[role${i}]\noid = OID:${ROLE_OIDS[r]}\nname = UTF8:${r}\n`)
    .join('\n');
  const psd2 = roles.length > 0;
  return `[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
${dns ? 'subjectAltName = @alt' : ''}
1.3.6.1.5.5.7.1.3 = ASN1:SEQUENCE:qcs
${dns ? `[alt]\n${dns}\n` : ''}
[qcs]
compliance = SEQUENCE:qcCompliance
type = SEQUENCE:qcTypeStatement
${psd2 ? 'psd2 = SEQUENCE:psd2Statement' : ''}
[qcCompliance]
id = OID:0.4.0.1862.1.1
[qcTypeStatement]
id = OID:0.4.0.1862.1.6
types = SEQUENCE:qcTypes
[qcTypes]
web = OID:0.4.0.1862.1.6.3
[psd2Statement]
id = OID:0.4.0.19495.2
info = SEQUENCE:psd2Info
[psd2Info]
roles = SEQUENCE:psd2Roles
ncaName = UTF8:Financial Conduct Authority
ncaId = UTF8:GB-FCA
[psd2Roles]
${roles.map((_, i) => `r${i} = SEQUENCE:role${i}`).join('\n')}
${roleSections}`;
}

/** Creates a QTSP root in `dir` (RSA 2048, self-signed, 1 day). */
export function makeQtsp(dir: string): Qtsp {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'qtsp.key',
      '-out',
      'qtsp.pem',
      '-days',
      '1',
      '-subj',
      '/C=EU/O=Test QTSP/CN=Test QTSP Root',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  let serial = 1;
  return {
    dir,
    rootFile: path.join(dir, 'qtsp.pem'),
    rootPem: readFileSync(path.join(dir, 'qtsp.pem'), 'utf8'),
    issue(spec) {
      const base = path.join(dir, spec.name);
      writeFileSync(`${base}.ext`, extensionConfig(spec));
      const org = spec.organizationId ? `/organizationIdentifier=${spec.organizationId}` : '';
      const subj = `/C=GB/O=${spec.commonName} Ltd${org}/CN=${spec.commonName}`;
      openssl(
        [
          'req',
          '-new',
          '-newkey',
          spec.key ?? 'rsa:2048',
          '-nodes',
          '-keyout',
          `${base}.key`,
          '-out',
          `${base}.csr`,
          '-subj',
          subj,
        ],
        dir,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          `${base}.csr`,
          '-CA',
          'qtsp.pem',
          '-CAkey',
          'qtsp.key',
          '-set_serial',
          String(1000 + serial++),
          '-days',
          '1',
          '-sha256',
          '-extfile',
          `${base}.ext`,
          '-extensions',
          'leaf',
          '-out',
          `${base}.pem`,
        ],
        dir,
      );
      const subject = openssl(
        ['x509', '-in', `${base}.pem`, '-noout', '-subject', '-nameopt', 'RFC2253'],
        dir,
      )
        .replace(/^subject=/, '')
        .trim();
      return {
        certFile: `${base}.pem`,
        keyFile: `${base}.key`,
        certPem: readFileSync(`${base}.pem`, 'utf8'),
        keyPem: readFileSync(`${base}.key`, 'utf8'),
        subject,
      };
    },
  };
}

/** `openssl x509 -text` of a certificate file. */
export function opensslText(certFile: string): string {
  return openssl(['x509', '-in', certFile, '-noout', '-text'], path.dirname(certFile));
}

/** Packs a QWAC into PKCS#12 with openssl (AES-256 + PBKDF2 by default in OpenSSL 3). */
export function makeP12(q: Qwac, caFile: string, password: string, out: string): void {
  openssl(
    [
      'pkcs12',
      '-export',
      '-inkey',
      q.keyFile,
      '-in',
      q.certFile,
      '-certfile',
      caFile,
      '-out',
      out,
      '-passout',
      `pass:${password}`,
    ],
    path.dirname(out),
  );
}
