// The bench report: one row per measured figure (Tether, the baseline measured in the same run,
// their ratio and the design.md §7 target), written as bench/report.md and bench/report.json.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from './procs.js';

export interface Row {
  readonly scenario: string;
  readonly tether: string;
  readonly baseline: string;
  /** Tether ÷ baseline (or the figure the target is about); null when there is none. */
  readonly ratio: number | null;
  readonly target: string;
  /** null: informational, no target. */
  readonly pass: boolean | null;
}

export interface Report {
  readonly mode: 'full' | 'quick';
  readonly date: string;
  readonly machine: string;
  readonly versions: Record<string, string>;
  readonly rows: Row[];
  readonly details: Record<string, unknown>;
  readonly notes: string[];
  readonly errors: string[];
  durationSeconds?: number;
}

export function machineInfo(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`;
}

const fmtRatio = (r: number | null) => (r === null || !Number.isFinite(r) ? '—' : `${r.toFixed(2)}×`);
const fmtPass = (p: boolean | null) => (p === null ? '—' : p ? 'pass' : 'FAIL');

export function toMarkdown(r: Report): string {
  const lines = [
    `# Tether bench (${r.mode})`,
    '',
    `- Date: ${r.date}; took ${r.durationSeconds ?? '?'} s`,
    `- Machine: ${r.machine}`,
    `- Versions: ${Object.entries(r.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    '- Every baseline was measured in the same run on the same machine; ratios are what the targets',
    '  are about (absolute numbers move with the load other processes put on the shared cores).',
    '',
    '| Scenario | Tether | Baseline | Ratio | Target | Result |',
    '|---|---|---|---|---|---|',
    ...r.rows.map(
      (row) =>
        `| ${row.scenario} | ${row.tether} | ${row.baseline} | ${fmtRatio(row.ratio)} | ${row.target} | ${fmtPass(row.pass)} |`,
    ),
    '',
  ];
  if (r.notes.length) lines.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  if (r.errors.length) lines.push('## Harness errors', '', ...r.errors.map((e) => `- ${e}`), '');
  lines.push('Raw figures: `bench/report.json`.', '');
  return lines.join('\n');
}

export function writeReport(r: Report, dir = BENCH_DIR): { md: string; json: string } {
  const md = path.join(dir, 'report.md');
  const json = path.join(dir, 'report.json');
  writeFileSync(md, toMarkdown(r));
  writeFileSync(json, `${JSON.stringify(r, null, 2)}\n`);
  return { md, json };
}

export const fmt = (n: number, digits = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : 'n/a';
