// Scenario 8: `tether sidecar run` to /readyz 200, with the CA up: wall time from spawn, polled
// every 5 ms, several runs (median), each sidecar stopped afterwards.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TETHER_BIN } from '../../test/helpers/ca-process.js';
import { type Mesh, sidecarYaml } from '../../test/helpers/mesh.js';
import { freePort } from '../../test/helpers/sidecar-process.js';
import { median, sleep } from '../lib/procs.js';
import type { Row } from '../lib/report.js';
import { ORDERS, WEB } from './setup.js';

async function once(mesh: Mesh, tokenFile: string, i: number): Promise<number> {
  const admin = await freePort();
  const listen = await freePort();
  const config = path.join(mesh.dir, `cold-${i}.yaml`);
  const yaml = sidecarYaml({
    caAddress: mesh.ca.address,
    bundleFile: mesh.bundleFile,
    tokenFile,
    inbound: [
      `{ name: orders, listen: 127.0.0.1:${listen}, forward: 127.0.0.1:1, protocol: http, allow: [${WEB}] }`,
    ],
  }).replace('admin: 127.0.0.1:0', `admin: 127.0.0.1:${admin}`);
  writeFileSync(config, yaml);
  const t0 = performance.now();
  const child = spawn(process.execPath, [TETHER_BIN, 'sidecar', 'run', '--config', config], {
    stdio: 'ignore',
  });
  try {
    while (performance.now() - t0 < 20_000 && child.exitCode === null) {
      const ok = await fetch(`http://127.0.0.1:${admin}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return performance.now() - t0;
      await sleep(5);
    }
    throw new Error(`sidecar not ready in 20 s (exit ${child.exitCode})`);
  } finally {
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

export async function coldStart(mesh: Mesh, runs: number, details: Record<string, unknown>): Promise<Row> {
  const tokenFile = await mesh.tokenFile(ORDERS, runs);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(Math.round(await once(mesh, tokenFile, i)));
  details['coldStartMs'] = times;
  const m = median(times);
  return {
    scenario: `(8) Cold start: spawn → /readyz 200 (median of ${runs})`,
    tether: `${m} ms (runs: ${times.join(', ')})`,
    baseline: '—',
    ratio: null,
    target: '< 1,000 ms',
    pass: m < 1000,
  };
}
