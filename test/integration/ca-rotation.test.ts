// Rotation on the real CA process: automatic and forced intermediate rotation (no bundle
// change), and a full root rotation pushed live over WatchTrustBundle, with short lifetimes.

import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { certsToPem } from '../../common/pem.js';
import { watchBundle } from '../helpers/bundle-watch.js';
import { type CaProcess, initCa, removeDir, startCa, tetherOk, writeConfig } from '../helpers/ca-process.js';
import { enrollWithToken, opensslVerify, renew, type Workload } from '../helpers/workload.js';

const WEB = 'spiffe://example.org/ns/shop/sa/web';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function startWith(yaml: string): Promise<{ ca: CaProcess; dataDir: string }> {
  const dataDir = await initCa('example.org', ['--config', writeConfig(await tmpParent(), yaml)]);
  const ca = await startCa({ dataDir, config: writeConfig(path.dirname(dataDir), yaml) });
  cleanups.push(async () => {
    await ca.stop();
    removeDir(path.dirname(dataDir));
  });
  return { ca, dataDir };
}

async function tmpParent(): Promise<string> {
  const { tempDir } = await import('../helpers/ca-process.js');
  return tempDir();
}

async function enroll(ca: CaProcess, dataDir: string, bundlePem = ca.bundlePem): Promise<Workload> {
  const token = await tetherOk(['ca', 'token', 'create', '--data-dir', dataDir, '--spiffe-id', WEB]);
  return enrollWithToken(ca.address, bundlePem, token);
}

const intermediateOf = (w: Workload) => new X509Certificate(w.response.certChain[1]!).fingerprint256;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('intermediate rotation', () => {
  it('rotates the intermediate automatically without changing the bundle; older leaves keep verifying', async () => {
    const { ca, dataDir } = await startWith(
      'dataDir: unused\nrotation: { intermediateTtl: 12s, checkInterval: 200ms }\nttl: { default: 10s, max: 10s }\n',
    );
    const first = await enroll(ca, dataDir);
    let latest = first;
    const deadline = Date.now() + 25_000;
    while (intermediateOf(latest) === intermediateOf(first) && Date.now() < deadline) {
      await sleep(500);
      latest = await enroll(ca, dataDir);
    }
    expect(intermediateOf(latest)).not.toBe(intermediateOf(first));
    const steps = ca
      .logs()
      .filter((l) => l['msg'] === 'CA rotation step applied')
      .map((l) => l['step']);
    expect(steps.slice(0, 2)).toEqual(['prepare-intermediate', 'activate-intermediate']);
    expect(`${await tetherOk(['ca', 'bundle', '--data-dir', dataDir])}\n`).toBe(ca.bundlePem);
    expect(opensslVerify(latest.response.certChain, ca.bundlePem, 'sslclient')).toContain('OK');
    expect(Buffer.concat(latest.response.trustBundle).equals(Buffer.concat(first.response.trustBundle))).toBe(
      true,
    );
  }, 40_000);

  it('rotates on `tether ca rotate --intermediate`; leaves from the old intermediate still renew', async () => {
    const { ca, dataDir } = await startWith('dataDir: unused\n');
    const before = await enroll(ca, dataDir);
    await tetherOk(['ca', 'rotate', '--intermediate', '--data-dir', dataDir]);
    await sleep(1500); // the server notices the CLI's change on its next check
    const after = await enroll(ca, dataDir);
    expect(intermediateOf(after)).not.toBe(intermediateOf(before));
    expect(opensslVerify(before.response.certChain, ca.bundlePem, 'sslserver')).toContain('OK');
    expect(opensslVerify(after.response.certChain, ca.bundlePem, 'sslserver')).toContain('OK');
    const renewed = await renew(ca.address, ca.bundlePem, before);
    expect(intermediateOf(renewed)).toBe(intermediateOf(after));
  }, 30_000);
});

describe('root rotation', () => {
  it('publishes the new root first, moves signing after propagation, and drops the old root after its leaves expired', async () => {
    const { ca, dataDir } = await startWith(
      'dataDir: unused\nrotation: { rootPropagation: 3s, checkInterval: 200ms }\nttl: { default: 10s, max: 10s }\n',
    );
    const watch = watchBundle(ca.address, ca.bundlePem);
    cleanups.push(async () => watch.close());
    const initial = await watch.waitFor(() => true, 5000);
    expect(initial.roots).toHaveLength(1);
    const oldRoot = initial.roots[0]!;
    const seq = Number(initial.sequence);

    await enroll(ca, dataDir);
    await tetherOk(['ca', 'rotate', '--root', '--data-dir', dataDir]);
    const published = await watch.waitFor((b) => Number(b.sequence) === seq + 1, 5000);
    expect(published.roots).toHaveLength(2);
    const newRoot = published.roots.find((r) => !r.equals(oldRoot))!;
    const bothPem = certsToPem(published.roots);

    // Before propagation completes, leaves still chain to the old root.
    const l2 = await enroll(ca, dataDir, bothPem);
    expect(opensslVerify(l2.response.certChain, certsToPem([oldRoot]), 'sslclient')).toContain('OK');

    await sleep(4500);
    const l3 = await enroll(ca, dataDir, bothPem);
    expect(opensslVerify(l3.response.certChain, certsToPem([newRoot]), 'sslclient')).toContain('OK');
    // A leaf under the old root still renews while that root is in the bundle.
    const renewed = await renew(ca.address, bothPem, l2);
    expect(opensslVerify(renewed.response.certChain, certsToPem([newRoot]), 'sslclient')).toContain('OK');

    // The old root leaves only once every leaf it could have signed has expired (max TTL 10 s).
    const removed = await watch.waitFor((b) => Number(b.sequence) === seq + 2, 20_000);
    expect(removed.roots).toHaveLength(1);
    expect(removed.roots[0]!.equals(newRoot)).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(l2.leaf.validTo));

    // Clients that trust only the new root can still reach the CA (its serving cert moved too).
    const l4 = await enroll(ca, dataDir, certsToPem([newRoot]));
    expect(l4.response.trustBundle).toHaveLength(1);
    expect(watch.messages.map((m) => Number(m.sequence))).toEqual([seq, seq + 1, seq + 2]);
  }, 60_000);

  it('refuses a second root rotation while one is in progress', async () => {
    const { dataDir } = await startWith('dataDir: unused\n');
    await tetherOk(['ca', 'rotate', '--root', '--data-dir', dataDir]);
    const { tether } = await import('../helpers/ca-process.js');
    const again = await tether(['ca', 'rotate', '--root', '--data-dir', dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already in progress');
  });
});

describe('bundle watchers', () => {
  it('counts open WatchTrustBundle streams and returns to zero when they close', async () => {
    const { ca } = await startWith('dataDir: unused\n');
    const gauge = async () => {
      const text = await (await fetch(`http://127.0.0.1:${ca.metricsPort}/metrics`)).text();
      return Number(/^tether_ca_bundle_watchers (\d+)$/m.exec(text)?.[1]);
    };
    const a = watchBundle(ca.address, ca.bundlePem);
    const b = watchBundle(ca.address, ca.bundlePem);
    await a.waitFor(() => true, 5000);
    await b.waitFor(() => true, 5000);
    expect(await gauge()).toBe(2);
    a.close();
    b.close();
    await sleep(300);
    expect(await gauge()).toBe(0);
  });
});
