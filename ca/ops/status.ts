// Gathers what the status page, /status.json and `tether ca status` show: CA certificates,
// workload identities, recent activity and blocked sources. Read-only and free of secrets:
// never keys, join tokens or their hashes.
import type { Clock } from '../../common/clock.js';
import { sha256Hex } from '../../common/x509.js';
import { intermediateSchedule } from '../authority/rotation.js';
import type { FailureTracker } from '../limits/failure-tracker.js';
import type { CaGeneration, IssuedRecord, Store } from '../store/store.js';
import type { ActivityEvent, ActivityLog } from './activity.js';

/** One root, intermediate or upstream CA that is not retired. Times are ISO 8601. */
export interface AuthorityStatus {
  readonly id: string;
  readonly kind: CaGeneration['kind'];
  readonly state: CaGeneration['state'];
  /** Hex SHA-256 of the DER certificate. */
  readonly sha256: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly parentId: string | null;
  /** Intermediates: when its successor is prepared (½ life) and activated (⅚ life). */
  readonly prepareAt?: string;
  readonly activateAt?: string;
}

export interface IdentityStatus {
  readonly spiffeId: string;
  readonly serial: string;
  readonly notAfter: string;
  /** Negative once expired. */
  readonly expiresInSeconds: number;
  readonly attestor: string;
  readonly issuedAt: string;
}

export interface ActivityStatus {
  readonly at: string;
  readonly outcome: ActivityEvent['outcome'];
  readonly spiffeId: string | null;
  readonly peer: string;
  readonly attestor: string;
  readonly serial: string | null;
  readonly notAfter: string | null;
  readonly code: string | null;
  readonly message: string | null;
}

export interface BlockedStatus {
  /** What is blocked: a source address, a presented certificate, or a join token. */
  readonly kind: 'source' | 'certificate' | 'credential';
  /** The address or serial; a blocked join token is not identified (its hash stays private). */
  readonly value: string;
  readonly until: string;
}

export interface CaStatus {
  readonly now: string;
  readonly trustDomain: string | null;
  readonly bundleSequence: number;
  readonly generations: AuthorityStatus[];
  readonly issued: { total: number; active: number };
  readonly identities: IdentityStatus[];
  /** True when there are more identities than `identities` lists. */
  readonly identitiesTruncated: boolean;
  /** Only from a running CA: the CLI has no view of them. */
  readonly activity?: ActivityStatus[];
  readonly blocked?: BlockedStatus[];
}

export interface StatusSources {
  readonly store: Store;
  readonly clock: Clock;
  readonly maxIdentities: number;
  readonly activity?: ActivityLog;
  readonly failures?: FailureTracker;
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function generationStatus(g: CaGeneration): AuthorityStatus {
  const base = {
    id: g.id,
    kind: g.kind,
    state: g.state,
    sha256: sha256Hex(g.certDer),
    notBefore: iso(g.notBefore),
    notAfter: iso(g.notAfter),
    parentId: g.parentId,
  };
  if (g.kind !== 'intermediate') return base;
  const { prepareAt, activateAt } = intermediateSchedule(g);
  return { ...base, prepareAt: iso(prepareAt), activateAt: iso(activateAt) };
}

function identityStatus(r: IssuedRecord, now: number): IdentityStatus {
  return {
    spiffeId: r.spiffeId,
    serial: r.serial,
    notAfter: iso(r.notAfter),
    expiresInSeconds: Math.floor((r.notAfter - now) / 1000),
    attestor: r.attestor,
    issuedAt: iso(r.issuedAt),
  };
}

function activityStatus(e: ActivityEvent): ActivityStatus {
  return { ...e, at: iso(e.at), notAfter: e.notAfter === null ? null : iso(e.notAfter) };
}

/** Failure-tracker keys are "source:<ip>", "certificate:<serial>" or "credential:<hash prefix>". */
export function blockedStatus(entry: { key: string; until: number }): BlockedStatus {
  const [kind, ...rest] = entry.key.split(':');
  const until = iso(entry.until);
  if (kind === 'source') return { kind, value: rest.join(':'), until };
  if (kind === 'certificate') return { kind, value: rest.join(':'), until };
  return { kind: 'credential', value: 'a join token', until };
}

/** Reads the CA's state for display. */
export async function gatherStatus(s: StatusSources): Promise<CaStatus> {
  const now = s.clock.now();
  const meta = await s.store.meta();
  const generations = (await s.store.generations()).filter((g) => g.state !== 'retired');
  const latest = await s.store.latestPerIdentity(s.maxIdentities + 1);
  const status: CaStatus = {
    now: iso(now),
    trustDomain: meta?.trustDomain ?? null,
    bundleSequence: (await s.store.bundleState()).sequence,
    generations: generations.map(generationStatus),
    issued: await s.store.countIssued(now),
    identities: latest.slice(0, s.maxIdentities).map((r) => identityStatus(r, now)),
    identitiesTruncated: latest.length > s.maxIdentities,
  };
  if (!s.activity && !s.failures) return status;
  return {
    ...status,
    activity: (s.activity?.recent() ?? []).map(activityStatus),
    blocked: (s.failures?.blocked() ?? []).map(blockedStatus),
  };
}
