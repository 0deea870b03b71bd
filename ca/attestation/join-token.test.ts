import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { parseWorkloadId } from '../../common/spiffe-id.js';
import { SqliteStore } from '../store/sqlite.js';
import type { IssuedRecord } from '../store/store.js';
import type { AttestationInput } from './attestor.js';
import {
  createJoinToken,
  hashJoinToken,
  JOIN_TOKEN_PREFIX,
  JoinTokenAttestor,
  joinTokenId,
} from './join-token.js';

const NOW = Date.UTC(2030, 0, 1);
const ID = parseWorkloadId('spiffe://example.org/web');

let dir: string;
let file: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tether-join-'));
  file = path.join(dir, 'tether.db');
  store = new SqliteStore(file, { create: true });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function newToken(opts: { ttlSeconds?: number; uses?: number; dnsNames?: string[] } = {}) {
  return createJoinToken(store, {
    spiffeId: ID,
    ttlSeconds: opts.ttlSeconds ?? 600,
    uses: opts.uses ?? 1,
    dnsNames: opts.dnsNames ?? [],
    now: NOW,
  });
}

function input(token: string, now = NOW): AttestationInput {
  return {
    credential: { kind: 'join_token', token },
    peer: { address: '127.0.0.1:5000', certificate: null },
    now,
  };
}

function issued(serial: string): IssuedRecord {
  return {
    serial,
    spiffeId: ID.toString(),
    notBefore: NOW,
    notAfter: NOW + 3_600_000,
    attestor: 'join_token',
    peer: '127.0.0.1:5000',
    generationId: 'int-1',
    issuedAt: NOW,
  };
}

async function refusal(p: Promise<unknown>): Promise<TetherError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error('expected a refusal');
}

describe('hashJoinToken', () => {
  it('is the lowercase hex SHA-256 of the token', () => {
    // FIPS 180-2 test vector for "abc".
    expect(hashJoinToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('gives a 12-character id as a prefix of the hash', () => {
    const hash = hashJoinToken('abc');
    expect(joinTokenId(hash)).toBe('ba7816bf8f01');
  });
});

describe('createJoinToken', () => {
  it('returns a tjt_ token with 256 bits of base64url randomness', async () => {
    const { token } = await newToken();
    expect(token.startsWith(JOIN_TOKEN_PREFIX)).toBe(true);
    expect(JOIN_TOKEN_PREFIX).toBe('tjt_');
    const random = Buffer.from(token.slice(4), 'base64url');
    expect(random.length * 8).toBeGreaterThanOrEqual(128);
    expect(token).toMatch(/^tjt_[A-Za-z0-9_-]{43}$/);
  });

  it('never returns the same token twice', async () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 20; i++) tokens.add((await newToken()).token);
    expect(tokens.size).toBe(20);
  });

  it('stores the hash, identity, DNS names, expiry and uses', async () => {
    const { token, record } = await newToken({ ttlSeconds: 300, uses: 3, dnsNames: ['web.example.org'] });
    expect(record.hash).toBe(hashJoinToken(token));
    const stored = await store.findJoinToken(hashJoinToken(token));
    expect(stored).toEqual({
      hash: hashJoinToken(token),
      spiffeId: 'spiffe://example.org/web',
      dnsNames: ['web.example.org'],
      createdAt: NOW,
      expiresAt: NOW + 300_000,
      usesLeft: 3,
      revoked: false,
    });
  });

  it('keeps the plaintext out of every row and out of the database files', async () => {
    const { token } = await newToken({ dnsNames: ['web.example.org'] });
    const secret = token.slice(JOIN_TOKEN_PREFIX.length);
    const db = new Database(file, { readonly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
      name: string;
    }[];
    const rows = tables.flatMap((t) => db.prepare(`SELECT * FROM "${t.name}"`).all());
    db.close();
    const dump = JSON.stringify(rows);
    expect(dump).toContain(hashJoinToken(token));
    expect(dump).not.toContain(secret);
    for (const f of [file, `${file}-wal`]) {
      if (existsSync(f)) expect(readFileSync(f).includes(Buffer.from(secret))).toBe(false);
    }
  });

  it.each([0, -1, 1.5])('refuses %d uses with ERR_USAGE', async (uses) => {
    expect((await refusal(newToken({ uses }))).code).toBe('ERR_USAGE');
  });
});

describe('JoinTokenAttestor', () => {
  const attestor = () => new JoinTokenAttestor(store);

  it('handles only join_token credentials', () => {
    expect(attestor().handles(input('tjt_x'))).toBe(true);
    const none: AttestationInput = { ...input('x'), credential: { kind: 'none' } };
    expect(attestor().handles(none)).toBe(false);
  });

  it('attests a valid token as its SPIFFE ID with its DNS names and a redemption', async () => {
    const { token } = await newToken({ dnsNames: ['web.example.org'] });
    const a = await attestor().attest(input(token));
    expect(a.spiffeId.toString()).toBe('spiffe://example.org/web');
    expect(a.dnsNames).toEqual(['web.example.org']);
    expect(a.redemption).toEqual({ tokenHash: hashJoinToken(token) });
    expect(a.attestor).toBe('join_token');
    expect(a.presentedSerial).toBeNull();
    expect(a.maxTtlSeconds).toBeNull();
  });

  it('refuses an unknown but well-formed token', async () => {
    const unknown = `tjt_${'A'.repeat(43)}`;
    expect((await refusal(attestor().attest(input(unknown)))).code).toBe('ERR_CREDENTIAL_INVALID');
  });

  it('refuses a malformed token', async () => {
    const { token } = await newToken();
    for (const bad of ['', token.slice(4), `${token}x`, token.replace('tjt_', 'tjx_')]) {
      expect((await refusal(attestor().attest(input(bad)))).code).toBe('ERR_CREDENTIAL_INVALID');
    }
  });

  it('refuses a token at and after its expiry, and accepts it just before', async () => {
    const { token } = await newToken({ ttlSeconds: 60 });
    await expect(attestor().attest(input(token, NOW + 59_999))).resolves.toBeDefined();
    expect((await refusal(attestor().attest(input(token, NOW + 60_000)))).code).toBe(
      'ERR_CREDENTIAL_INVALID',
    );
  });

  it('refuses a revoked token', async () => {
    const { token } = await newToken();
    expect(await store.revokeJoinTokens(joinTokenId(hashJoinToken(token)))).toBe(1);
    expect((await refusal(attestor().attest(input(token)))).code).toBe('ERR_CREDENTIAL_INVALID');
  });

  it('refuses a token whose uses are spent', async () => {
    const { token } = await newToken({ uses: 1 });
    await store.recordIssuance(issued('01'), { tokenHash: hashJoinToken(token) }, NOW);
    expect((await refusal(attestor().attest(input(token)))).code).toBe('ERR_CREDENTIAL_INVALID');
  });

  it('gives the same message for every kind of refusal', async () => {
    const { token: expired } = await newToken({ ttlSeconds: 1 });
    const unknown = `tjt_${'B'.repeat(43)}`;
    const a = await refusal(attestor().attest(input(expired, NOW + 5_000)));
    const b = await refusal(attestor().attest(input(unknown)));
    const c = await refusal(attestor().attest(input('nonsense')));
    expect(new Set([a.message, b.message, c.message]).size).toBe(1);
  });
});

describe('single-use redemption in SqliteStore.recordIssuance', () => {
  it('redeems a one-use token once and refuses the second redemption', async () => {
    const { token } = await newToken({ uses: 1 });
    const redemption = { tokenHash: hashJoinToken(token) };
    await store.recordIssuance(issued('01'), redemption, NOW);
    const err = await refusal(store.recordIssuance(issued('02'), redemption, NOW));
    expect(err.code).toBe('ERR_CREDENTIAL_INVALID');
  });

  it('records no certificate when the redemption is refused', async () => {
    const { token } = await newToken({ uses: 1 });
    const redemption = { tokenHash: hashJoinToken(token) };
    await store.recordIssuance(issued('01'), redemption, NOW);
    await refusal(store.recordIssuance(issued('02'), redemption, NOW));
    expect((await store.countIssued(NOW)).total).toBe(1);
  });

  it('allows exactly as many redemptions as uses', async () => {
    const { token } = await newToken({ uses: 2 });
    const redemption = { tokenHash: hashJoinToken(token) };
    await store.recordIssuance(issued('01'), redemption, NOW);
    await store.recordIssuance(issued('02'), redemption, NOW);
    expect((await refusal(store.recordIssuance(issued('03'), redemption, NOW))).code).toBe(
      'ERR_CREDENTIAL_INVALID',
    );
  });

  it('refuses to redeem a token that expired between attestation and recording', async () => {
    const { token } = await newToken({ ttlSeconds: 60 });
    const err = await refusal(
      store.recordIssuance(issued('01'), { tokenHash: hashJoinToken(token) }, NOW + 60_000),
    );
    expect(err.code).toBe('ERR_CREDENTIAL_INVALID');
  });
});
