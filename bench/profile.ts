// Profiles the sidecar pair under wrk: starts the bench mesh with both sidecars under
// `node --cpu-prof`, drives one path, stops them (profiles are written on exit) and prints the
// hottest functions by self time. Run: npx tsx bench/profile.ts http|tcp [seconds] [1k|64k]
import 'reflect-metadata';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { wrk } from './lib/wrk.js';
import { startBench } from './scenarios/setup.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [mode = 'http', secondsArg = '5', size = '1k'] = process.argv.slice(2);
const dir = mkdtempSync(path.join(tmpdir(), 'tether-prof-'));
const b = await startBench('', {
  NODE_OPTIONS: `--require ${path.join(import.meta.dirname, 'lib/cpu-prof.cjs')}`,
  TETHER_PROF_DIR: dir,
});
const port = mode === 'tcp' ? b.ports.tcpOut : b.ports.httpOut;
const result = await wrk(`http://127.0.0.1:${port}/${size}`, Number(secondsArg), 16);
console.log(JSON.stringify(result));
await b.stop();
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of the samples in the load window (the last `seconds` before shutdown), by key. */
function tally(p: Profile, key: (n: ProfileNode) => string, seconds: number): [string, number][] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const times: number[] = [];
  let t = 0;
  for (const d of p.timeDeltas) {
    t += d;
    times.push(t);
  }
  const end = t - 700_000; // drain and exit
  const start = end - seconds * 1_000_000;
  const counts = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    if (times[i]! < start || times[i]! > end) return;
    const k = key(byId.get(id)!);
    counts.set(k, (counts.get(k) ?? 0) + 1);
    total++;
  });
  return [...counts].sort((a, c) => c[1] - a[1]).map(([k, c]) => [k, (c * 100) / total]);
}

/** Inclusive time of each function (a sample counts once per distinct function on its stack). */
function inclusive(
  p: Profile & { nodes: (ProfileNode & { children?: number[] })[] },
  seconds: number,
): [string, number][] {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const times: number[] = [];
  let t = 0;
  for (const d of p.timeDeltas) {
    t += d;
    times.push(t);
  }
  const end = t - 700_000;
  const start = end - seconds * 1_000_000;
  const counts = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    if (times[i]! < start || times[i]! > end) return;
    total++;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = byId.get(at)!;
      const k = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber}`;
      if (!seen.has(k)) seen.add(k);
    }
    for (const k of seen) counts.set(k, (counts.get(k) ?? 0) + 1);
  });
  return [...counts].sort((a, c) => c[1] - a[1]).map(([k, c]) => [k, (c * 100) / total]);
}

const short = (url: string) => url.replace(/^.*\/(node_modules|dist)\//, '$1/') || '(native)';
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Profile;
  const seconds = Number(secondsArg) - 0.5;
  console.log(`\n${file}: by function (self time in the load window)`);
  const fn = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}:${n.callFrame.lineNumber}`;
  for (const [k, pct] of tally(profile, fn, seconds).slice(0, 30))
    console.log(`${pct.toFixed(1).padStart(5)}%  ${k}`);
  console.log(`${file}: inclusive`);
  for (const [k, pct] of inclusive(profile, seconds).slice(0, 45))
    console.log(`${pct.toFixed(1).padStart(5)}%  ${k}`);
  console.log(`${file}: by file`);
  for (const [k, pct] of tally(profile, (n) => short(n.callFrame.url), seconds).slice(0, 15))
    console.log(`${pct.toFixed(1).padStart(5)}%  ${k}`);
}
console.log(`profiles in ${dir}`);
