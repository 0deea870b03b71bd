// `tether sidecar status --admin ADDR`: reads a running sidecar's /certs and /metrics and
// summarizes identity, expiry, trust bundle, listeners and traffic counters.
import { formatTimeLeft } from '../../common/duration.js';
import { formatTable } from '../../common/text-table.js';
import type { ListenerInfo } from './server.js';

/** The /certs document (fields the report uses). */
export interface CertsDocument {
  readonly ready: boolean;
  readonly spiffeId: string | null;
  readonly serial: string | null;
  readonly sha256: string | null;
  readonly notAfter: string | null;
  readonly bundleSequence: number | null;
  readonly bundleRoots: number;
  readonly listeners?: readonly ListenerInfo[];
}

/** One Prometheus sample: metric name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses the Prometheus text exposition format (enough of it for our own metrics). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of `name` samples whose labels include every pair in `match`. */
export function sumOf(samples: readonly Sample[], name: string, match: Record<string, string>): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

export interface ListenerCounters extends ListenerInfo {
  readonly handshakesOk: number;
  readonly handshakesRefused: number;
  readonly handshakesFailed: number;
  readonly activeConnections: number;
  readonly requests: number;
}

function countersOf(l: ListenerInfo, samples: readonly Sample[]): ListenerCounters {
  const at = { direction: l.direction, listener: l.name };
  const handshakes = (result: string) => sumOf(samples, 'tether_sidecar_handshakes_total', { ...at, result });
  return {
    ...l,
    handshakesOk: handshakes('ok'),
    handshakesRefused: handshakes('refused'),
    handshakesFailed: handshakes('failed'),
    activeConnections: sumOf(samples, 'tether_sidecar_active_connections', at),
    requests: sumOf(samples, 'tether_sidecar_request_duration_seconds_count', at),
  };
}

export interface SidecarStatus {
  readonly certs: CertsDocument;
  readonly listeners: ListenerCounters[];
  readonly renewals: { readonly renewed: number; readonly failed: number };
}

/** Combines the two admin documents into one report. */
export function buildSidecarStatus(certs: CertsDocument, metricsText: string): SidecarStatus {
  const samples = parseMetrics(metricsText);
  return {
    certs,
    listeners: (certs.listeners ?? []).map((l) => countersOf(l, samples)),
    renewals: {
      renewed: sumOf(samples, 'tether_sidecar_renewals_total', { result: 'renewed' }),
      failed: sumOf(samples, 'tether_sidecar_renewals_total', { result: 'failed' }),
    },
  };
}

function expiryLine(notAfter: string | null, now: number): string {
  if (!notAfter) return '(no certificate)';
  return `${notAfter.replace(/\.\d+Z$/, 'Z')} (${formatTimeLeft((Date.parse(notAfter) - now) / 1000)} left)`;
}

function listenersTable(listeners: readonly ListenerCounters[]): string {
  if (listeners.length === 0) return 'no listeners bound';
  return formatTable(
    [
      'DIRECTION',
      'NAME',
      'PROTOCOL',
      'LISTEN',
      'PORT',
      'TARGET',
      'HANDSHAKES OK',
      'REFUSED',
      'FAILED',
      'ACTIVE',
      'REQUESTS',
    ],
    listeners.map((l) => [
      l.direction,
      l.name,
      l.protocol,
      l.listen,
      String(l.port),
      l.target,
      String(l.handshakesOk),
      String(l.handshakesRefused),
      String(l.handshakesFailed),
      String(l.activeConnections),
      l.protocol === 'http' ? String(l.requests) : '-',
    ]),
  );
}

/** The report as text for a terminal. */
export function formatSidecarStatus(s: SidecarStatus, now: number): string {
  const c = s.certs;
  return [
    `identity:       ${c.spiffeId ?? '(none yet)'}`,
    `ready:          ${c.ready ? 'yes' : 'no'}`,
    `serial:         ${c.serial ?? '-'}`,
    `expires:        ${expiryLine(c.notAfter, now)}`,
    `cert sha256:    ${c.sha256 ?? '-'}`,
    `trust bundle:   sequence ${c.bundleSequence ?? '-'}, ${c.bundleRoots} root(s)`,
    `renewals:       ${s.renewals.renewed} ok, ${s.renewals.failed} failed`,
    '',
    'LISTENERS',
    listenersTable(s.listeners),
  ].join('\n');
}

/** The admin base URL for "host:port" or a full http:// URL. */
export function adminUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
}

/** Fetches /certs and /metrics from a sidecar's admin listener. */
export async function fetchSidecarStatus(address: string, timeoutMs = 5000): Promise<SidecarStatus> {
  const base = adminUrl(address);
  const get = async (path: string): Promise<Response> => {
    const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`${base}${path} answered HTTP ${res.status}`);
    return res;
  };
  const certs = (await (await get('/certs')).json()) as CertsDocument;
  const metrics = await (await get('/metrics')).text();
  return buildSidecarStatus(certs, metrics);
}
