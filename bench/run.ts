// `npm run bench [-- --quick] [--only NAME [--update]]`: runs every scenario with its baseline in the same run and writes
// bench/report.md and bench/report.json. Exits 1 only when the harness itself breaks (a scenario
// throws), never because a ratio misses its target: CI runs --quick as a smoke check.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../test/helpers/ca-process.js';
import { NGINX, nginxAvailable } from './lib/nginx.js';
import { BENCH_DIR } from './lib/procs.js';
import { machineInfo, type Report, type Row, toMarkdown, writeReport } from './lib/report.js';
import { caIssuance, type OpensslSpeed, opensslSpeed } from './scenarios/ca.js';
import { dataPath } from './scenarios/data-path.js';
import { rotation } from './scenarios/rotation.js';
import { startBench } from './scenarios/setup.js';
import { coldStart } from './scenarios/startup.js';
import { tokens } from './scenarios/tokens.js';

const quick = process.argv.includes('--quick');
const T = quick
  ? {
      speed: 1,
      ca: 2,
      caClients: 2,
      caInFlight: 16,
      wrk: 2,
      paced: 2,
      handshake: 2,
      hold: 1000,
      rotations: 4,
      tokens: 2,
      cold: 2,
    }
  : {
      speed: 3,
      ca: 10,
      caClients: 4,
      caInFlight: 32,
      wrk: 8,
      paced: 5,
      handshake: 6,
      hold: 1000,
      rotations: 100,
      tokens: 5,
      cold: 5,
    };

function version(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim().split('\n')[0] ?? '';
  } catch (err) {
    // nginx -v prints to stderr
    return String((err as { stderr?: string }).stderr ?? '').trim() || 'unavailable';
  }
}

function versions(): Record<string, string> {
  const nginx = execFileSync('sh', ['-c', `${NGINX} -v 2>&1 || true`], { encoding: 'utf8' }).trim();
  return {
    node: process.version,
    openssl: version('openssl', ['version']),
    'node openssl': process.versions.openssl,
    nginx: nginx.replace('nginx version: ', ''),
    wrk: version('sh', ['-c', 'wrk -v 2>&1 | head -1']).split(' ').slice(0, 2).join(' '),
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  if (!existsSync(path.join(REPO_ROOT, 'dist/sidecar/cli.js'))) {
    execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  if (!nginxAvailable())
    throw new Error('nginx with the stream module is needed: apt-get install nginx libnginx-mod-stream');
  const report: Report = {
    mode: quick ? 'quick' : 'full',
    date: new Date().toISOString(),
    machine: machineInfo(),
    versions: versions(),
    rows: [],
    details: { timing: T },
    notes: [],
    errors: [],
  };
  const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  const step = async (name: string, f: () => Promise<Row[]>) => {
    if (only && !name.includes(only) && name !== 'openssl speed') return;
    const t0 = Date.now();
    process.stderr.write(`bench: ${name}…\n`);
    try {
      report.rows.push(...(await f()));
    } catch (err) {
      report.errors.push(`${name}: ${(err as Error).stack ?? err}`);
      process.stderr.write(`bench: ${name} FAILED: ${(err as Error).stack}\n`);
    }
    process.stderr.write(`bench: ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  };
  let speed: OpensslSpeed = {
    signPerSecond: Number.NaN,
    verifyPerSecond: Number.NaN,
    signVerifyUs: Number.NaN,
  };
  await step('openssl speed', async () => {
    speed = await opensslSpeed(T.speed);
    report.details['openssl'] = speed;
    return [
      {
        scenario: 'Baseline: OpenSSL ECDSA P-256 (one core)',
        tether: '—',
        baseline: `sign ${Math.round(speed.signPerSecond)}/s, verify ${Math.round(speed.verifyPerSecond)}/s = ${speed.signVerifyUs} µs per sign+verify`,
        ratio: null,
        target: '—',
        pass: null,
      },
    ];
  });
  await step('CA issuance', () =>
    caIssuance({ seconds: T.ca, clients: T.caClients, inFlight: T.caInFlight }, speed, report.details),
  );
  await step('data path', async () => {
    const b = await startBench();
    try {
      const rows = await dataPath(
        b,
        {
          wrkSeconds: T.wrk,
          pacedSeconds: T.paced,
          handshakeSeconds: T.handshake,
          holdConnections: T.hold,
          lightLoad: !quick,
        },
        report.details,
      );
      rows.push(await coldStart(b.mesh, T.cold, report.details));
      return rows;
    } finally {
      await b.stop();
    }
  });
  await step('rotation', async () => [await rotation(T.rotations, report.details)]);
  await step('tokens', () => tokens(T.tokens, speed, report.details));
  report.durationSeconds = Math.round((Date.now() - started) / 1000);
  report.notes.push(
    'Load generators (wrk, bench/load/client.ts, bench/tokens.ts) run as separate processes on the same 2 cores as the proxies; every run is bounded in time.',
    'nginx runs one worker per instance (the pair is two instances), matching one single-threaded sidecar per hop.',
  );
  if (only && process.argv.includes('--update')) {
    // Replace the matching rows of the last report (e.g. a scenario whose code landed later).
    const prev = JSON.parse(readFileSync(path.join(BENCH_DIR, 'report.json'), 'utf8')) as Report;
    const same = (a: Row, b: Row) => a.scenario.slice(0, 20) === b.scenario.slice(0, 20);
    const rows = prev.rows.map((r) => report.rows.find((n) => same(n, r)) ?? r);
    rows.push(...report.rows.filter((n) => !prev.rows.some((r) => same(n, r))));
    writeReport({
      ...prev,
      rows,
      details: { ...prev.details, ...report.details },
      notes: [...prev.notes, `Rows of step "${only}" re-measured ${report.date} (--only ${only} --update).`],
      errors: [...prev.errors, ...report.errors],
    });
  } else if (only) {
    // A partial run prints its rows and leaves the committed report alone.
    process.stdout.write(`${toMarkdown(report)}\n${JSON.stringify(report.details, null, 1)}\n`);
  } else {
    const files = writeReport(report);
    process.stderr.write(`bench: wrote ${files.md} and ${files.json} in ${report.durationSeconds} s\n`);
  }
  const failed = report.rows.filter((r) => r.pass === false).length;
  process.stderr.write(
    `bench: ${report.rows.length} rows, ${failed} below target, ${report.errors.length} harness errors\n`,
  );
  return report.errors.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
