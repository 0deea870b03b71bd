// The status page's static assets, served from the CA itself (no CDN): its stylesheet and icon.
// Kept out of the HTML so the page runs under `default-src 'self'` with no inline styles.

export const STATUS_CSS = `:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #656d76; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --accent: #0969da;
}
* { box-sizing: border-box; }
body {
  margin: 0 auto; max-width: 1280px; padding: 24px 32px 40px;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--fg); background: var(--bg);
}
header { display: flex; align-items: baseline; gap: 12px; border-bottom: 1px solid var(--line); margin-bottom: 16px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
h2 .muted { font-size: 13px; font-weight: normal; margin-left: 8px; }
.muted { color: var(--muted); }
.summary { display: flex; flex-wrap: wrap; gap: 12px; margin: 0; }
.summary div { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 160px; }
.summary dt { color: var(--muted); font-size: 12px; }
.summary dd { margin: 0; font-size: 15px; font-weight: 600; }
table { width: 100%; border-collapse: collapse; border: 1px solid var(--line); border-radius: 6px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: baseline; }
th { background: var(--panel); font-weight: 600; font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
tbody tr:hover { background: #f3f6fa; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.fingerprint { word-break: break-all; max-width: 300px; }
.serial { word-break: break-all; max-width: 220px; }
.time { white-space: nowrap; }
.reason { color: var(--bad); }
.bad { color: var(--bad); }
.state, .outcome { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; border: 1px solid var(--line); }
.state.active, .outcome.ok { color: var(--ok); border-color: var(--ok); }
.state.prepared { color: var(--accent); border-color: var(--accent); }
.state.retiring { color: var(--warn); border-color: var(--warn); }
.outcome.bad { color: var(--bad); border-color: var(--bad); }
.lifetime { width: 220px; }
svg.bar { width: 200px; height: 14px; display: block; margin-top: 3px; }
svg.bar .life { fill: #e6ebf1; }
svg.bar .elapsed { fill: #9ec5fe; }
svg.bar line { stroke-width: 1.5; vector-effect: non-scaling-stroke; }
svg.bar .now { stroke: var(--fg); stroke-width: 2.5; }
svg.bar .prepare { stroke: var(--warn); }
svg.bar .activate { stroke: var(--bad); }
.legend { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
.legend .key { display: inline-block; width: 12px; height: 10px; margin: 0 3px 0 10px; vertical-align: middle; }
.legend .key.elapsed { background: #9ec5fe; }
.legend .key.now { width: 3px; background: var(--fg); }
.legend .key.prepare { width: 2px; background: var(--warn); }
.legend .key.activate { width: 2px; background: var(--bad); }
.empty { color: var(--muted); font-style: italic; margin: 4px 0; }
footer { margin-top: 32px; font-size: 12px; }
a { color: var(--accent); }
`;

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#0969da"/></svg>';
