// `tether ca bundle` and `tether ca status`: read-only views of the CA's state, from the store
// alone (the running CA's status page adds recent activity and blocked sources).
import { type Clock, systemClock } from '../../common/clock.js';
import { formatTimeLeft } from '../../common/duration.js';
import { certsToPem } from '../../common/pem.js';
import { formatTable } from '../../common/text-table.js';
import { type CaStatus, gatherStatus } from '../ops/status.js';
import type { Store } from '../store/store.js';

/** Identities listed by `tether ca status` (the latest certificate of each). */
export const CLI_MAX_IDENTITIES = 50;

/** The roots currently in the trust bundle (or the upstream bundle), as PEM. */
export async function bundlePem(store: Store): Promise<string> {
  const meta = await store.meta();
  if (meta && meta.upstreamBundle.length > 0) return certsToPem(meta.upstreamBundle);
  const roots = (await store.generations()).filter((g) => g.kind === 'root' && g.state !== 'retired');
  return certsToPem(roots.map((g) => g.certDer));
}

const short = (iso: string): string => iso.replace(/\.\d+Z$/, 'Z');
const leftOf = (iso: string, now: string): string =>
  formatTimeLeft((Date.parse(iso) - Date.parse(now)) / 1000);

function authoritiesTable(s: CaStatus): string {
  return formatTable(
    ['KIND', 'STATE', 'SHA-256', 'NOT AFTER', 'EXPIRES IN', 'ID'],
    s.generations.map((g) => [g.kind, g.state, g.sha256, short(g.notAfter), leftOf(g.notAfter, s.now), g.id]),
  );
}

function identitiesTable(s: CaStatus): string {
  if (s.identities.length === 0) return 'no workload certificates issued yet';
  const table = formatTable(
    ['SPIFFE ID', 'SERIAL', 'NOT AFTER', 'EXPIRES IN'],
    s.identities.map((i) => [i.spiffeId, i.serial, short(i.notAfter), formatTimeLeft(i.expiresInSeconds)]),
  );
  return s.identitiesTruncated ? `${table}\n(first ${s.identities.length} identities shown)` : table;
}

/** The report as text (default) or JSON; JSON keeps every field earlier versions printed. */
export async function status(store: Store, json: boolean, clock: Clock = systemClock): Promise<string> {
  const s = await gatherStatus({ store, clock, maxIdentities: CLI_MAX_IDENTITIES });
  if (json) return JSON.stringify(s, null, 2);
  return [
    `trust domain:     ${s.trustDomain}`,
    `bundle sequence:  ${s.bundleSequence}`,
    `certificates:     ${s.issued.total} issued, ${s.issued.active} unexpired`,
    `identities:       ${s.identities.length}${s.identitiesTruncated ? '+' : ''}`,
    '',
    'CERTIFICATE AUTHORITIES',
    authoritiesTable(s),
    '',
    'WORKLOAD IDENTITIES (latest certificate of each)',
    identitiesTable(s),
  ].join('\n');
}
