// Plain-text tables for CLI reports (`tether ca status`, `tether sidecar status`): left-aligned
// columns sized to their widest cell, two spaces apart, no trailing blanks.

/** Formats `rows` under `headers`; cells are printed as given. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
