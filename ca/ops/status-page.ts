// Renders the CA status page: a pure function from CaStatus to HTML. Every value is escaped;
// the page needs no script and loads only its own stylesheet, so a strict CSP applies.
import { formatTimeLeft } from '../../common/duration.js';
import type { ActivityStatus, AuthorityStatus, BlockedStatus, CaStatus, IdentityStatus } from './status.js';

/** Seconds between automatic reloads of the page. */
export const STATUS_REFRESH_SECONDS = 5;

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escapes text for element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const when = (isoTime: string | null): string =>
  isoTime ? isoTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';

function cell(value: unknown, className = ''): string {
  return className
    ? `<td class="${escapeHtml(className)}">${escapeHtml(value)}</td>`
    : `<td>${escapeHtml(value)}</td>`;
}

function table(headers: readonly string[], rows: readonly string[], empty: string): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const head = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table>`;
}

/** Position of `t` along [start, end] as a percentage, clamped to the bar. */
function percent(t: number, start: number, end: number): string {
  const f = end > start ? (t - start) / (end - start) : 1;
  return (Math.min(1, Math.max(0, f)) * 100).toFixed(2);
}

function marker(x: string, className: string, title: string): string {
  return `<line class="${className}" x1="${x}" x2="${x}" y1="0" y2="12"><title>${escapeHtml(title)}</title></line>`;
}

/** An SVG bar over the certificate's life: elapsed part, prepare/activate marks, now. */
export function lifetimeBar(g: AuthorityStatus, nowIso: string): string {
  const start = Date.parse(g.notBefore);
  const end = Date.parse(g.notAfter);
  const now = Date.parse(nowIso);
  const elapsed = percent(now, start, end);
  const marks: string[] = [];
  if (g.prepareAt)
    marks.push(
      marker(
        percent(Date.parse(g.prepareAt), start, end),
        'prepare',
        `prepare successor ${when(g.prepareAt)}`,
      ),
    );
  if (g.activateAt)
    marks.push(
      marker(
        percent(Date.parse(g.activateAt), start, end),
        'activate',
        `activate successor ${when(g.activateAt)}`,
      ),
    );
  marks.push(marker(elapsed, 'now', `now ${when(nowIso)}`));
  return [
    '<svg class="bar" viewBox="0 0 100 12" preserveAspectRatio="none" role="img"',
    ` aria-label="${escapeHtml(`${elapsed}% of its lifetime elapsed`)}">`,
    '<rect class="life" x="0" y="2" width="100" height="8"></rect>',
    `<rect class="elapsed" x="0" y="2" width="${elapsed}" height="8"></rect>`,
    ...marks,
    '</svg>',
  ].join('');
}

function authorityRow(g: AuthorityStatus, now: string): string {
  const left = formatTimeLeft((Date.parse(g.notAfter) - Date.parse(now)) / 1000);
  return [
    cell(g.kind),
    `<td><span class="state ${escapeHtml(g.state)}">${escapeHtml(g.state)}</span></td>`,
    cell(g.sha256, 'mono fingerprint'),
    cell(when(g.notBefore), 'time'),
    `<td class="time">${escapeHtml(when(g.notAfter))}<br><span class="muted">${escapeHtml(left)}</span></td>`,
    `<td class="lifetime">${lifetimeBar(g, now)}</td>`,
  ].join('');
}

function identityRow(i: IdentityStatus): string {
  const expired = i.expiresInSeconds < 0;
  return [
    cell(i.spiffeId, 'mono'),
    cell(i.serial, 'mono serial'),
    cell(when(i.notAfter), 'time'),
    cell(formatTimeLeft(i.expiresInSeconds), expired ? 'bad' : ''),
    cell(i.attestor),
  ].join('');
}

function activityRow(e: ActivityStatus): string {
  const detail =
    e.outcome === 'issued'
      ? `serial ${e.serial ?? ''}, expires ${when(e.notAfter)}`
      : `${e.code}: ${e.message}`;
  return [
    cell(when(e.at), 'time'),
    `<td><span class="outcome ${e.outcome === 'issued' ? 'ok' : 'bad'}">${escapeHtml(e.outcome)}</span></td>`,
    cell(e.spiffeId ?? '—', 'mono'),
    cell(e.peer, 'mono'),
    cell(detail, e.outcome === 'refused' ? 'reason' : ''),
  ].join('');
}

function blockedRow(b: BlockedStatus): string {
  return [cell(b.kind), cell(b.value, 'mono'), cell(when(b.until), 'time')].join('');
}

function section(title: string, body: string, note = ''): string {
  const aside = note ? ` <span class="muted">${escapeHtml(note)}</span>` : '';
  return `<section><h2>${escapeHtml(title)}${aside}</h2>${body}</section>`;
}

function summary(s: CaStatus): string {
  const items: [string, string][] = [
    ['Trust domain', s.trustDomain ?? '(not initialized)'],
    ['Bundle sequence', String(s.bundleSequence)],
    ['Certificates issued', `${s.issued.total} (${s.issued.active} unexpired)`],
    ['Updated', when(s.now)],
  ];
  return `<dl class="summary">${items.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl>`;
}

const LEGEND =
  '<p class="legend"><span class="key elapsed"></span> elapsed <span class="key now"></span> now' +
  ' <span class="key prepare"></span> prepare successor (½ life)' +
  ' <span class="key activate"></span> activate successor (⅚ life); the bar ends at expiry</p>';

/** The whole page for `GET /`. */
export function renderStatusPage(s: CaStatus): string {
  const activity = s.activity ?? [];
  const blocked = s.blocked ?? [];
  const body = [
    `<header><h1>Tether CA</h1><p class="muted">${escapeHtml(s.trustDomain ?? '')}</p></header>`,
    summary(s),
    section(
      'Certificate authorities',
      table(
        ['Kind', 'State', 'SHA-256 fingerprint', 'Not before', 'Not after', 'Lifetime'],
        s.generations.map((g) => authorityRow(g, s.now)),
        'No CA certificates.',
      ) + LEGEND,
    ),
    section(
      'Workload identities',
      table(
        ['SPIFFE ID', 'Serial', 'Not after', 'Expires in', 'Attestor'],
        s.identities.map(identityRow),
        'No workload certificates issued yet.',
      ),
      s.identitiesTruncated ? `first ${s.identities.length} shown` : `${s.identities.length} identities`,
    ),
    section(
      'Recent issuances and refusals',
      table(
        ['Time', 'Outcome', 'SPIFFE ID', 'Peer', 'Detail'],
        activity.map(activityRow),
        'Nothing since the CA started.',
      ),
      'newest first, since the CA started',
    ),
    section(
      'Blocked sources',
      table(['Kind', 'Blocked', 'Until'], blocked.map(blockedRow), 'No source is blocked.'),
    ),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${STATUS_REFRESH_SECONDS}">
<title>Tether CA · ${escapeHtml(s.trustDomain ?? '')}</title>
<link rel="stylesheet" href="/status.css">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
</head>
<body>
${body}
<footer class="muted">Refreshes every ${STATUS_REFRESH_SECONDS} s · <a href="/status.json">status.json</a> · <a href="/metrics">metrics</a></footer>
</body>
</html>
`;
}
