import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { SqliteStore } from './sqlite.js';
import type { CaGeneration, IssuedRecord } from './store.js';

let dir: string;
let file: string;
let store: SqliteStore;
const others: SqliteStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tether-store-'));
  file = path.join(dir, 'tether.db');
  store = new SqliteStore(file, { create: true });
});

afterEach(async () => {
  for (const s of others.splice(0)) await s.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function second(): SqliteStore {
  const s = new SqliteStore(file, { create: false });
  others.push(s);
  return s;
}

const mode = (f: string) => statSync(f).mode & 0o777;

function gen(id: string, over: Partial<CaGeneration> = {}): CaGeneration {
  return {
    id,
    kind: 'root',
    parentId: null,
    certDer: Buffer.from([1, 2, 3]),
    keyFile: `${id}.key.pem`,
    notBefore: 1000,
    notAfter: 2000,
    state: 'prepared',
    createdAt: 1000,
    activatedAt: null,
    retiredAt: null,
    ...over,
  };
}

function issued(serial: string, generationId: string, notAfter: number): IssuedRecord {
  return {
    serial,
    spiffeId: 'spiffe://example.org/w',
    notBefore: 0,
    notAfter,
    attestor: 't',
    peer: 'p',
    generationId,
    issuedAt: 0,
  };
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<TetherError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error('expected a refusal');
}

describe('SqliteStore files', () => {
  it('creates the database file with mode 0600', () => {
    expect(mode(file)).toBe(0o600);
  });

  it('keeps the WAL and shared-memory files 0600 too, since they hold the same data', async () => {
    await store.addDeny({ kind: 'serial', value: 'ab', reason: 'r', createdAt: 1 });
    for (const f of [`${file}-wal`, `${file}-shm`]) {
      expect(existsSync(f)).toBe(true);
      expect(mode(f).toString(8)).toBe('600');
    }
  });

  it('restores mode 0600 when an existing file is reopened', () => {
    chmodSync(file, 0o644);
    second();
    expect(mode(file)).toBe(0o600);
  });

  it('refuses to open a missing file without create, with ERR_CA_NOT_INITIALIZED', async () => {
    const err = await refusal(() => new SqliteStore(path.join(dir, 'none.db'), { create: false }));
    expect(err.code).toBe('ERR_CA_NOT_INITIALIZED');
    expect(existsSync(path.join(dir, 'none.db'))).toBe(false);
  });
});

describe('SqliteStore.changeCounter', () => {
  it('changes when another connection to the same file commits', async () => {
    const before = await store.changeCounter();
    await second().addDeny({ kind: 'spiffe_id', value: 'spiffe://example.org/x', reason: 'r', createdAt: 1 });
    expect(await store.changeCounter()).not.toBe(before);
  });

  it('stays the same while nobody commits', async () => {
    second();
    const before = await store.changeCounter();
    await store.listDeny();
    expect(await store.changeCounter()).toBe(before);
  });

  it('lets the other connection see the committed change', async () => {
    await second().addDeny({ kind: 'serial', value: 'cafe', reason: 'r', createdAt: 1 });
    expect(await store.isDenied('spiffe://example.org/x', 'cafe')).toMatchObject({
      kind: 'serial',
      value: 'cafe',
    });
  });
});

describe('SqliteStore meta and generations', () => {
  it('has no meta before init and returns what init stored', async () => {
    expect(await store.meta()).toBeNull();
    const chain = [Buffer.from([9, 8, 7])];
    await store.init({
      trustDomain: 'example.org',
      keyType: 'ecdsa-p384',
      upstreamChain: chain,
      upstreamBundle: [],
    });
    expect(await store.meta()).toEqual({
      trustDomain: 'example.org',
      keyType: 'ecdsa-p384',
      upstreamChain: chain,
      upstreamBundle: [],
    });
    expect(await store.bundleState()).toEqual({ sequence: 1 });
  });

  it('stores generations and sets activatedAt / retiredAt with state changes', async () => {
    await store.init({
      trustDomain: 'example.org',
      keyType: 'ecdsa-p256',
      upstreamChain: [],
      upstreamBundle: [],
    });
    await store.applyGenerationChanges({ insert: [gen('root-1')] });
    expect(await store.generations()).toEqual([gen('root-1')]);
    await store.applyGenerationChanges({
      setState: [{ id: 'root-1', state: 'active', at: 5000 }],
      bumpBundle: true,
    });
    await store.applyGenerationChanges({ setState: [{ id: 'root-1', state: 'retiring', at: 6000 }] });
    await store.applyGenerationChanges({ setState: [{ id: 'root-1', state: 'retired', at: 7000 }] });
    const [g] = await store.generations();
    expect(g).toMatchObject({ state: 'retired', activatedAt: 5000, retiredAt: 6000 });
    expect(await store.bundleState()).toEqual({ sequence: 2 });
  });

  it('applies a change set all or nothing', async () => {
    await store.init({
      trustDomain: 'example.org',
      keyType: 'ecdsa-p256',
      upstreamChain: [],
      upstreamBundle: [],
    });
    await store.applyGenerationChanges({ insert: [gen('root-1')] });
    const err = await refusal(
      store.applyGenerationChanges({
        insert: [gen('int-1', { kind: 'intermediate' }), gen('root-1')],
        bumpBundle: true,
      }),
    );
    expect(err.code).toBe('ERR_STORE_UNAVAILABLE');
    expect((await store.generations()).map((g) => g.id)).toEqual(['root-1']);
    expect(await store.bundleState()).toEqual({ sequence: 1 });
  });
});

describe('SqliteStore tokens, deny list and issuance', () => {
  const token = {
    spiffeId: 'spiffe://example.org/w',
    dnsNames: [],
    createdAt: 1,
    expiresAt: 10_000,
    usesLeft: 1,
    revoked: false,
  };

  it('revokes tokens by a hash prefix of at least 8 hex characters', async () => {
    await store.createJoinToken({ ...token, hash: `abcdef01${'0'.repeat(56)}` });
    await store.createJoinToken({ ...token, hash: `abcdef02${'0'.repeat(56)}` });
    expect((await refusal(store.revokeJoinTokens('abcdef0'))).code).toBe('ERR_USAGE');
    expect(await store.revokeJoinTokens('ABCDEF01')).toBe(1);
    const list = await store.listJoinTokens();
    expect(list.map((t) => t.revoked)).toEqual([true, false]);
  });

  it('strips non-hex characters, so LIKE wildcards cannot widen a revocation', async () => {
    await store.createJoinToken({ ...token, hash: `abcdef01${'0'.repeat(56)}` });
    expect((await refusal(store.revokeJoinTokens('%%%%%%%%'))).code).toBe('ERR_USAGE');
    expect((await refusal(store.revokeJoinTokens('ab%_____'))).code).toBe('ERR_USAGE');
    expect(await store.listJoinTokens()).toMatchObject([{ revoked: false }]);
  });

  it('finds a deny entry by ID or serial and forgets it once removed', async () => {
    await store.addDeny({ kind: 'spiffe_id', value: 'spiffe://example.org/a', reason: 'r', createdAt: 1 });
    expect(await store.isDenied('spiffe://example.org/a', null)).toMatchObject({ kind: 'spiffe_id' });
    expect(await store.isDenied('spiffe://example.org/b', null)).toBeNull();
    expect(await store.removeDeny('spiffe_id', 'spiffe://example.org/a')).toBe(true);
    expect(await store.removeDeny('spiffe_id', 'spiffe://example.org/a')).toBe(false);
    expect(await store.isDenied('spiffe://example.org/a', null)).toBeNull();
  });

  it('counts issued and active leaves and finds the latest expiry per generation', async () => {
    await store.recordIssuance(issued('01', 'int-1', 100), null, 0);
    await store.recordIssuance(issued('02', 'int-1', 300), null, 0);
    await store.recordIssuance(issued('03', 'int-2', 500), null, 0);
    expect(await store.countIssued(200)).toEqual({ total: 3, active: 2 });
    expect(await store.latestLeafExpiry(['int-1'])).toBe(300);
    expect(await store.latestLeafExpiry(['int-1', 'int-2'])).toBe(500);
    expect(await store.latestLeafExpiry(['int-3'])).toBeNull();
    expect(await store.latestLeafExpiry([])).toBeNull();
  });

  it('lists the latest certificate of each workload identity, without the CA own ones', async () => {
    const at = (serial: string, spiffeId: string, issuedAt: number, attestor = 'join_token') => ({
      ...issued(serial, 'int-1', issuedAt + 100),
      spiffeId,
      issuedAt,
      attestor,
    });
    await store.recordIssuance(at('01', 'spiffe://example.org/b', 10), null, 0);
    await store.recordIssuance(at('02', 'spiffe://example.org/b', 30), null, 0);
    await store.recordIssuance(at('03', 'spiffe://example.org/b', 20), null, 0);
    await store.recordIssuance(at('04', 'spiffe://example.org/a', 5), null, 0);
    await store.recordIssuance(at('05', 'spiffe://example.org/tether/ca', 50, 'self'), null, 0);
    const latest = await store.latestPerIdentity(10);
    expect(latest.map((r) => [r.spiffeId, r.serial])).toEqual([
      ['spiffe://example.org/a', '04'],
      ['spiffe://example.org/b', '02'],
    ]);
    expect(latest[1]).toMatchObject({
      notAfter: 130,
      issuedAt: 30,
      attestor: 'join_token',
      generationId: 'int-1',
    });
    expect((await store.latestPerIdentity(1)).map((r) => r.serial)).toEqual(['04']);
  });
});
