// Scenario 6: certificate rotations under load. Two sidecar pairs with 10 s certificates (the
// CA's minimum) renew at about half-life each; paced HTTP and new-connection TCP traffic runs
// through both pairs until the four sidecars have rotated N times in all. Every failure counts.

import path from 'node:path';
import { startMesh } from '../../test/helpers/mesh.js';
import { freePort } from '../../test/helpers/sidecar-process.js';
import { startBackend } from '../lib/nginx.js';
import { sleep, startLoad } from '../lib/procs.js';
import { fmt, type Row } from '../lib/report.js';
import { startSidecarPair, type Undo, undoAll } from './setup.js';

type Counts = { ok: number; failed: number; errors?: string[] };

export async function rotation(rotations: number, details: Record<string, unknown>): Promise<Row> {
  const mesh = await startMesh('ttl: { default: 10s, max: 10s }\n');
  const undo: Undo = [() => mesh.stop()];
  try {
    const backendPort = await freePort();
    const backend = await startBackend(path.join(mesh.dir, 'backend'), backendPort);
    undo.push(() => backend.stop());
    const pairs = [
      await startSidecarPair(mesh, backendPort, '10s', {}, undo),
      await startSidecarPair(mesh, backendPort, '10s', {}, undo),
    ];
    const sidecars = pairs.flatMap((p) => [p.web, p.orders]);
    // ~5 s per rotation per sidecar, four sidecars: bounded at twice the expected time.
    const seconds = Math.ceil((rotations * 5 * 2) / sidecars.length) + 10;
    const loads = pairs.flatMap((p) => [
      startLoad<Counts>(
        'client.ts',
        ['paced', String(p.ports.httpOut), '/1k', '100', String(seconds + 5)],
        (seconds + 30) * 1000,
      ),
      startLoad<Counts>(
        'client.ts',
        ['tcpnew', String(p.ports.tcpOut), '50', String(seconds + 5)],
        (seconds + 30) * 1000,
      ),
    ]);
    // Count only rotations that happen once every load process is sending.
    await sleep(3000);
    const serials = await Promise.all(sidecars.map(async (s) => new Set([(await s.certs()).serial])));
    const seen = () => serials.reduce((a, s) => a + s.size - 1, 0);
    const t0 = Date.now();
    while (seen() < rotations && Date.now() - t0 < seconds * 1000) {
      await sleep(250);
      const now = await Promise.all(sidecars.map((s) => s.certs()));
      for (const [i, c] of now.entries()) serials[i]!.add(c.serial);
    }
    const elapsed = (Date.now() - t0) / 1000;
    // Traffic ran across every rotation seen; stop it (each load prints what it counted).
    await sleep(1000);
    for (const l of loads) l.finish();
    const counts = await Promise.all(loads.map((l) => l.done));
    const ok = counts.reduce((a, c) => a + c.ok, 0);
    const failed = counts.reduce((a, c) => a + c.failed, 0);
    details['rotation'] = { rotations: seen(), seconds: elapsed, ok, failed, counts };
    return {
      scenario: `(6) Rotation under load: ${seen()} rotations (4 sidecars, 10 s certificates)`,
      tether: `${failed} failed of ${fmt(ok + failed)} requests (HTTP keep-alive + new TCP connections)`,
      baseline: '—',
      ratio: null,
      target: `0 failures across ${rotations} rotations`,
      pass: failed === 0 && seen() >= rotations,
    };
  } finally {
    await undoAll(undo);
  }
}
