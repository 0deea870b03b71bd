// `tether ca init`: creates the store and the first root + intermediate, or adopts an
// operator-supplied upstream CA. Refuses to touch a data dir that already holds a CA.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, id_ce_basicConstraints } from '@peculiar/asn1-x509';
import { systemClock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import { fromPem } from '../../common/pem.js';
import { parseTrustDomain } from '../../common/spiffe-id.js';
import { sha256Hex } from '../../common/x509.js';
import { dataDirPaths, ensureDataDir } from '../authority/data-dir.js';
import { adoptUpstream, createIntermediate, createRoot, type KeyStorage } from '../authority/generation.js';
import type { CaKeyType } from '../authority/keys.js';
import { SqliteStore } from '../store/sqlite.js';
import type { CaGeneration } from '../store/store.js';

export interface InitOptions {
  readonly dataDir: string;
  readonly trustDomain: string;
  readonly keyType: CaKeyType;
  readonly rootTtlSeconds: number;
  readonly intermediateTtlSeconds: number;
  readonly passphrase: string | null;
  readonly upstream?: { certFile: string; keyFile: string; bundleFile?: string | undefined } | undefined;
}

interface Upstream {
  readonly cert: Buffer;
  readonly chain: Buffer[];
  readonly bundle: Buffer[];
  readonly key: KeyObject;
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new TetherError('ERR_UPSTREAM_INVALID', `cannot read ${what} ${file}`, { cause: err });
  }
}

/** Checks that the upstream CA can sign our intermediates and chains to its bundle. */
function loadUpstream(opts: NonNullable<InitOptions['upstream']>, now: number): Upstream {
  const [cert, ...chain] = fromPem(readText(opts.certFile, 'upstream certificate'));
  let key: KeyObject;
  try {
    key = createPrivateKey(readText(opts.keyFile, 'upstream key'));
  } catch (err) {
    throw new TetherError(
      'ERR_UPSTREAM_INVALID',
      `cannot parse the upstream key ${opts.keyFile} (unencrypted PEM expected)`,
      { cause: err },
    );
  }
  const x = new X509Certificate(cert!);
  const problems: string[] = [];
  if (!x.ca) problems.push('it is not a CA certificate (basicConstraints CA:true)');
  if (!x.checkPrivateKey(key)) problems.push('the key does not match the certificate');
  if (now >= Date.parse(x.validTo) || now < Date.parse(x.validFrom))
    problems.push('it is expired or not yet valid');
  if (pathLength(cert!) === 0)
    problems.push("its pathLenConstraint is 0, so it cannot sign Tether's intermediates");
  const self = x.checkIssued(x) && x.verify(x.publicKey);
  const bundle = opts.bundleFile
    ? fromPem(readText(opts.bundleFile, 'upstream bundle'))
    : self
      ? [cert!]
      : [];
  if (bundle.length === 0)
    problems.push('it is not self-signed, so --upstream-bundle must name the roots it chains to');
  if (
    bundle.length > 0 &&
    !chainsTo(
      [x, ...chain.map((c) => new X509Certificate(c))],
      bundle.map((b) => new X509Certificate(b)),
    )
  ) {
    problems.push('its chain does not lead to a certificate in the upstream bundle');
  }
  if (problems.length > 0)
    throw new TetherError('ERR_UPSTREAM_INVALID', `upstream CA rejected: ${problems.join('; ')}`);
  return { cert: cert!, chain, bundle, key };
}

function pathLength(der: Buffer): number | undefined {
  const ext = AsnConvert.parse(der, Certificate).tbsCertificate.extensions?.find(
    (e) => e.extnID === id_ce_basicConstraints,
  );
  return ext ? AsnConvert.parse(ext.extnValue.buffer, BasicConstraints).pathLenConstraint : undefined;
}

function chainsTo(path: X509Certificate[], roots: X509Certificate[]): boolean {
  for (let i = 0; i < path.length - 1; i++) {
    if (!path[i]!.verify(path[i + 1]!.publicKey)) return false;
  }
  const top = path.at(-1)!;
  return roots.some((r) => r.raw.equals(top.raw) || (top.checkIssued(r) && top.verify(r.publicKey)));
}

/** Creates the CA. Returns the generations created, for printing. */
export async function initCa(opts: InitOptions): Promise<CaGeneration[]> {
  const trustDomain = parseTrustDomain(opts.trustDomain);
  const dir = dataDirPaths(opts.dataDir);
  if (existsSync(dir.dbFile)) {
    throw new TetherError(
      'ERR_CA_EXISTS',
      `${dir.root} already holds a CA; refusing to overwrite it (use another --data-dir)`,
    );
  }
  const now = systemClock.now();
  const upstream = opts.upstream ? loadUpstream(opts.upstream, now) : null;
  ensureDataDir(dir);
  const storage: KeyStorage = { keysDir: dir.keysDir, passphrase: opts.passphrase };
  const anchor = upstream
    ? adoptUpstream({ now, certDer: upstream.cert, key: upstream.key, storage })
    : createRoot({
        now,
        trustDomain,
        keyType: opts.keyType,
        ttlSeconds: opts.rootTtlSeconds,
        state: 'active',
        storage,
      });
  const intermediate = createIntermediate({
    now,
    trustDomain,
    keyType: opts.keyType,
    ttlSeconds: opts.intermediateTtlSeconds,
    state: 'active',
    parent: anchor.generation,
    parentKey: anchor.key,
    storage,
  });
  const store = new SqliteStore(dir.dbFile, { create: true });
  try {
    await store.init({
      trustDomain,
      keyType: opts.keyType,
      upstreamChain: upstream?.chain ?? [],
      upstreamBundle: upstream?.bundle ?? [],
    });
    await store.applyGenerationChanges({ insert: [anchor.generation, intermediate.generation] });
  } finally {
    await store.close();
  }
  return [anchor.generation, intermediate.generation];
}

export function describeGeneration(g: CaGeneration): string {
  return `${g.kind.padEnd(12)} ${g.id}  sha256:${sha256Hex(g.certDer)}  expires ${new Date(g.notAfter).toISOString()}`;
}
