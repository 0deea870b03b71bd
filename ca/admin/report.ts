// `tether ca bundle` and `tether ca status`: read-only views of the CA's state.
import { systemClock } from '../../common/clock.js';
import { certsToPem } from '../../common/pem.js';
import { sha256Hex } from '../../common/x509.js';
import type { CaGeneration, Store } from '../store/store.js';

/** The roots currently in the trust bundle (or the upstream bundle), as PEM. */
export async function bundlePem(store: Store): Promise<string> {
  const meta = await store.meta();
  if (meta && meta.upstreamBundle.length > 0) return certsToPem(meta.upstreamBundle);
  const roots = (await store.generations()).filter((g) => g.kind === 'root' && g.state !== 'retired');
  return certsToPem(roots.map((g) => g.certDer));
}

function row(g: CaGeneration) {
  return {
    id: g.id,
    kind: g.kind,
    state: g.state,
    sha256: sha256Hex(g.certDer),
    notBefore: new Date(g.notBefore).toISOString(),
    notAfter: new Date(g.notAfter).toISOString(),
    parentId: g.parentId,
  };
}

export async function status(store: Store, json: boolean): Promise<string> {
  const now = systemClock.now();
  const meta = await store.meta();
  const gens = (await store.generations()).filter((g) => g.state !== 'retired').map(row);
  const issued = await store.countIssued(now);
  const bundle = await store.bundleState();
  const report = {
    trustDomain: meta?.trustDomain,
    bundleSequence: bundle.sequence,
    generations: gens,
    issued,
  };
  if (json) return JSON.stringify(report, null, 2);
  const lines = [
    `trust domain:     ${report.trustDomain}`,
    `bundle sequence:  ${bundle.sequence}`,
    `certificates:     ${issued.total} issued, ${issued.active} unexpired`,
    '',
    ...gens.map(
      (g) =>
        `${g.kind.padEnd(12)} ${g.state.padEnd(9)} ${g.id}\n  sha256:${g.sha256}\n  valid ${g.notBefore} .. ${g.notAfter}`,
    ),
  ];
  return lines.join('\n');
}
