// SIGKILL the CA in the middle of an issuance burst, then restart it on the same data dir: the
// store is consistent, every certificate a caller received is recorded, no join token was
// redeemed more often than allowed, and the bundle and signing keys are unchanged.
import { createHash, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { serialHex } from '../../common/x509.js';
import { type CaProcess, initCa, removeDir, startCa, tetherOk } from '../helpers/ca-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const TOKENS = [
  { id: 'spiffe://example.org/ns/burst/sa/a', uses: 1 },
  { id: 'spiffe://example.org/ns/burst/sa/b', uses: 1 },
  { id: 'spiffe://example.org/ns/burst/sa/c', uses: 3 },
  { id: 'spiffe://example.org/ns/burst/sa/d', uses: 15 },
];
const CALLS_PER_TOKEN = 15;

let dataDir = '';
let ca: CaProcess | null = null;
afterAll(async () => {
  await ca?.stop();
  if (dataDir) removeDir(path.dirname(dataDir));
});

/** SHA-256 of every file under keys/ plus the bundle: what must survive a crash unchanged. */
async function keyMaterial(dir: string): Promise<Record<string, string>> {
  const keys = path.join(dir, 'keys');
  const out: Record<string, string> = {};
  for (const f of readdirSync(keys).sort())
    out[f] = createHash('sha256')
      .update(readFileSync(path.join(keys, f)))
      .digest('hex');
  out['bundle'] = createHash('sha256')
    .update(await tetherOk(['ca', 'bundle', '--data-dir', dir]))
    .digest('hex');
  return out;
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

describe('SIGKILL during an issuance burst', () => {
  it('leaves a consistent store, every returned certificate recorded and no token over-redeemed', async () => {
    dataDir = await initCa();
    const tokens = await Promise.all(
      TOKENS.map(async (t) => ({
        ...t,
        token: await tetherOk([
          'ca',
          'token',
          'create',
          '--data-dir',
          dataDir,
          '--spiffe-id',
          t.id,
          '--uses',
          String(t.uses),
        ]),
      })),
    );
    ca = await startCa({ dataDir });
    const before = await keyMaterial(dataDir);
    const running = ca;
    let killed = false;
    const received: { id: string; serial: string }[] = [];
    const calls = tokens.flatMap((t) =>
      Array.from({ length: CALLS_PER_TOKEN }, () =>
        enrollWithToken(running.address, running.bundlePem, t.token).then((w) => {
          received.push({
            id: t.id,
            serial: serialHex(new X509Certificate(w.chainPem.split(/(?=-----BEGIN)/)[0]!)),
          });
          // Kill on the fifth certificate handed out, with the rest of the burst in flight.
          if (received.length === 5 && !killed) {
            killed = true;
            running.child.kill('SIGKILL');
          }
        }),
      ),
    );
    const settled = await Promise.allSettled(calls);
    expect(killed).toBe(true);
    expect(settled.some((s) => s.status === 'rejected')).toBe(true);
    await new Promise((r) =>
      running.child.exitCode !== null || running.child.signalCode ? r(null) : running.child.once('exit', r),
    );
    ca = null;

    // The store after the crash, read directly.
    const db = new Database(path.join(dataDir, 'tether.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const recorded = new Set(
        (db.prepare('SELECT serial FROM issued').all() as { serial: string }[]).map((r) => r.serial),
      );
      for (const r of received) expect(recorded.has(r.serial), `serial ${r.serial} not recorded`).toBe(true);
      for (const t of tokens) {
        const row = db
          .prepare('SELECT uses_left FROM join_tokens WHERE hash = ?')
          .get(tokenHash(t.token)) as { uses_left: number };
        const got = received.filter((r) => r.id === t.id).length;
        expect(row.uses_left).toBeGreaterThanOrEqual(0);
        expect(got).toBeLessThanOrEqual(t.uses);
        // Every redemption the store counted belongs to a recorded issuance for that identity.
        const issuedForId = (
          db.prepare('SELECT COUNT(*) AS n FROM issued WHERE spiffe_id = ?').get(t.id) as { n: number }
        ).n;
        expect(t.uses - row.uses_left).toBe(issuedForId);
        expect(issuedForId).toBeGreaterThanOrEqual(got);
      }
    } finally {
      db.close();
    }

    // Restart on the same data dir: same keys and bundle, still issuing, spent tokens still spent.
    ca = await startCa({ dataDir });
    expect(await keyMaterial(dataDir)).toEqual(before);
    const fresh = await tetherOk([
      'ca',
      'token',
      'create',
      '--data-dir',
      dataDir,
      '--spiffe-id',
      'spiffe://example.org/ns/burst/sa/after',
    ]);
    const w = await enrollWithToken(ca.address, ca.bundlePem, fresh);
    expect(w.leaf.subjectAltName).toBe('URI:spiffe://example.org/ns/burst/sa/after');
    const single = tokens[0]!;
    if (received.some((r) => r.id === single.id))
      await expect(enrollWithToken(ca.address, ca.bundlePem, single.token)).rejects.toThrow();
  });
});
