// The CA's data dir runs out of space (a small tmpfs mounted for the test): the CA refuses to
// issue with UNAVAILABLE rather than hand out a certificate it could not record, does not spend
// the join token, keeps serving, and issues again once space returns.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CaProcess, startCa, tempDir, tetherOk } from '../helpers/ca-process.js';
import { enrollWithToken } from '../helpers/workload.js';

const ID = 'spiffe://example.org/ns/disk/sa/full';
let mnt = '';
let dataDir = '';
let ca: CaProcess | null = null;
let filler = '';

/** Writes zeros to `file` until the filesystem refuses (ENOSPC). */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

beforeAll(async () => {
  mnt = tempDir('tether-diskfull-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mnt]);
  dataDir = path.join(mnt, 'ca');
  await tetherOk(['ca', 'init', '--data-dir', dataDir, '--trust-domain', 'example.org']);
  ca = await startCa({ dataDir });
  filler = path.join(mnt, 'filler');
});

afterAll(async () => {
  await ca?.stop();
  if (mnt) {
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

describe('disk full under the CA data dir', () => {
  let token = '';

  it('refuses to issue with UNAVAILABLE and does not spend the join token', async () => {
    token = await tetherOk(['ca', 'token', 'create', '--data-dir', dataDir, '--spiffe-id', ID]);
    fillDisk(filler);
    await expect(enrollWithToken(ca!.address, ca!.bundlePem, token)).rejects.toMatchObject({
      code: status.UNAVAILABLE,
      details: expect.stringMatching(/cannot record/),
    });
    await expect
      .poll(() => ca!.logs().filter((l) => l['code'] === 'ERR_STORE_UNAVAILABLE').length, { timeout: 5000 })
      .toBe(1);
    expect(ca!.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${ca!.metricsPort}/healthz`)).status).toBe(200);
  });

  it('issues again, with the same token, once space returns', async () => {
    rmSync(filler);
    const w = await enrollWithToken(ca!.address, ca!.bundlePem, token);
    expect(w.leaf.subjectAltName).toBe(`URI:${ID}`);
    await ca!.stop();
    ca = null;
    const db = new Database(path.join(dataDir, 'tether.db'), { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(
        (db.prepare('SELECT COUNT(*) AS n FROM issued WHERE spiffe_id = ?').get(ID) as { n: number }).n,
      ).toBe(1);
    } finally {
      db.close();
    }
  });
});

describe('the data dir mount itself', () => {
  it('was really a separate, size-limited filesystem', () => {
    const out = execFileSync('findmnt', ['-n', '-o', 'FSTYPE,SIZE', mnt], { encoding: 'utf8' });
    expect(out).toMatch(/tmpfs\s+8M/);
    mkdirSync(path.join(mnt, 'probe'), { recursive: true });
  });
});
