// Embedded SQLite store (better-sqlite3) in the data dir: WAL mode so the CLI and a running CA
// can share the file, every write in a transaction, the file itself 0600.
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { TetherError } from '../../common/errors.js';
import type {
  BundleState,
  CaGeneration,
  CaMeta,
  DenyEntry,
  DenyKind,
  GenerationChange,
  IssuedRecord,
  JoinTokenRecord,
  Redemption,
  Store,
  TokenKeyChange,
  TokenKeyRecord,
} from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS generations (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, parent_id TEXT, cert_der BLOB NOT NULL, key_file TEXT NOT NULL,
  not_before INTEGER NOT NULL, not_after INTEGER NOT NULL, state TEXT NOT NULL,
  created_at INTEGER NOT NULL, activated_at INTEGER, retired_at INTEGER);
CREATE TABLE IF NOT EXISTS join_tokens (
  hash TEXT PRIMARY KEY, spiffe_id TEXT NOT NULL, dns_names TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, uses_left INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS deny (
  kind TEXT NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL,
  PRIMARY KEY (kind, value));
CREATE TABLE IF NOT EXISTS issued (
  serial TEXT PRIMARY KEY, spiffe_id TEXT NOT NULL, not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,
  attestor TEXT NOT NULL, peer TEXT NOT NULL, generation_id TEXT NOT NULL, issued_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS issued_by_generation ON issued (generation_id, not_after);
CREATE INDEX IF NOT EXISTS issued_by_expiry ON issued (not_after);
CREATE INDEX IF NOT EXISTS issued_by_identity ON issued (spiffe_id, issued_at);
CREATE TABLE IF NOT EXISTS token_keys (
  kid TEXT PRIMARY KEY, key_file TEXT NOT NULL, state TEXT NOT NULL, created_at INTEGER NOT NULL,
  activated_at INTEGER, retired_at INTEGER);
`;

type Row = Record<string, unknown>;

function toGeneration(r: Row): CaGeneration {
  return {
    id: r['id'] as string,
    kind: r['kind'] as CaGeneration['kind'],
    parentId: (r['parent_id'] as string | null) ?? null,
    certDer: r['cert_der'] as Buffer,
    keyFile: r['key_file'] as string,
    notBefore: r['not_before'] as number,
    notAfter: r['not_after'] as number,
    state: r['state'] as CaGeneration['state'],
    createdAt: r['created_at'] as number,
    activatedAt: (r['activated_at'] as number | null) ?? null,
    retiredAt: (r['retired_at'] as number | null) ?? null,
  };
}

function toToken(r: Row): JoinTokenRecord {
  return {
    hash: r['hash'] as string,
    spiffeId: r['spiffe_id'] as string,
    dnsNames: JSON.parse(r['dns_names'] as string) as string[],
    createdAt: r['created_at'] as number,
    expiresAt: r['expires_at'] as number,
    usesLeft: r['uses_left'] as number,
    revoked: (r['revoked'] as number) === 1,
  };
}

function toDeny(r: Row): DenyEntry {
  return {
    kind: r['kind'] as DenyKind,
    value: r['value'] as string,
    reason: r['reason'] as string,
    createdAt: r['created_at'] as number,
  };
}

function toIssued(r: Row): IssuedRecord {
  return {
    serial: r['serial'] as string,
    spiffeId: r['spiffe_id'] as string,
    notBefore: r['not_before'] as number,
    notAfter: r['not_after'] as number,
    attestor: r['attestor'] as string,
    peer: r['peer'] as string,
    generationId: r['generation_id'] as string,
    issuedAt: r['issued_at'] as number,
  };
}

function toTokenKey(r: Row): TokenKeyRecord {
  return {
    kid: r['kid'] as string,
    keyFile: r['key_file'] as string,
    state: r['state'] as TokenKeyRecord['state'],
    createdAt: r['created_at'] as number,
    activatedAt: (r['activated_at'] as number | null) ?? null,
    retiredAt: (r['retired_at'] as number | null) ?? null,
  };
}

const ders = (list: Buffer[]): string => JSON.stringify(list.map((b) => b.toString('base64')));
const unders = (text: string | undefined): Buffer[] =>
  text ? (JSON.parse(text) as string[]).map((s) => Buffer.from(s, 'base64')) : [];

/** Maps SQLite failures that mean "cannot persist right now" (disk full, read-only) to UNAVAILABLE. */
function storeError(err: unknown): never {
  if (err instanceof TetherError) throw err;
  const code = (err as { code?: string }).code ?? '';
  throw new TetherError(
    'ERR_STORE_UNAVAILABLE',
    'the CA cannot record to its store right now; retry shortly',
    {
      cause: new Error(`${code}: ${(err as Error).message}`),
    },
  );
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private recordIssuanceTx:
    | ((record: IssuedRecord, redemption: Redemption | null, now: number) => void)
    | null = null;

  /** Opens (creating if `create`) the database file; the file is chmod 0600. */
  constructor(file: string, options: { create: boolean; readonly?: boolean }) {
    if (!options.create && !existsSync(file)) {
      throw new TetherError('ERR_CA_NOT_INITIALIZED', `no CA store at ${file}; run "tether ca init" first`);
    }
    // Create the file 0600 before SQLite opens it: the -wal and -shm files it makes next inherit
    // the database file's mode, and they hold the same data.
    if (options.create && !existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    this.db = new Database(file, { fileMustExist: !options.create });
    this.db.pragma('journal_mode = WAL');
    // WAL + NORMAL: a commit survives a crash or SIGKILL of the CA (it is in the WAL file); only an
    // OS crash or power loss can drop the last commits. Root removal does not depend on those
    // records alone (see rotation.ts), and FULL would add an fsync to every issuance.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    chmodSync(file, 0o600);
  }

  /** Prepared statements are cached: preparing costs more than running on the issuance path. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async init(meta: CaMeta): Promise<void> {
    const put = this.stmt('INSERT INTO meta (key, value) VALUES (?, ?)');
    this.db.transaction(() => {
      put.run('trust_domain', meta.trustDomain);
      put.run('key_type', meta.keyType);
      put.run('upstream_chain', ders(meta.upstreamChain));
      put.run('upstream_bundle', ders(meta.upstreamBundle));
      put.run('bundle_sequence', '1');
      put.run('schema_version', '1');
    })();
  }

  async meta(): Promise<CaMeta | null> {
    const rows = this.stmt('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const m = new Map(rows.map((r) => [r.key, r.value]));
    const trustDomain = m.get('trust_domain');
    if (!trustDomain) return null;
    return {
      trustDomain,
      keyType: m.get('key_type') ?? 'ecdsa-p256',
      upstreamChain: unders(m.get('upstream_chain')),
      upstreamBundle: unders(m.get('upstream_bundle')),
    };
  }

  async generations(): Promise<CaGeneration[]> {
    return (this.stmt('SELECT * FROM generations ORDER BY created_at, id').all() as Row[]).map(toGeneration);
  }

  async applyGenerationChanges(change: GenerationChange): Promise<void> {
    const insert = this.stmt(
      `INSERT INTO generations (id, kind, parent_id, cert_der, key_file, not_before, not_after, state, created_at, activated_at, retired_at)
       VALUES (@id, @kind, @parentId, @certDer, @keyFile, @notBefore, @notAfter, @state, @createdAt, @activatedAt, @retiredAt)`,
    );
    const setState = this.stmt(
      `UPDATE generations SET state = @state,
         activated_at = CASE WHEN @state = 'active' THEN @at ELSE activated_at END,
         retired_at = CASE WHEN @state IN ('retiring', 'retired') THEN COALESCE(retired_at, @at) ELSE retired_at END
       WHERE id = @id`,
    );
    try {
      this.db.transaction(() => {
        for (const g of change.insert ?? []) insert.run(g);
        for (const s of change.setState ?? []) setState.run(s);
        if (change.bumpBundle) {
          this.stmt("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'bundle_sequence'").run();
        }
      })();
    } catch (err) {
      storeError(err);
    }
  }

  async bundleState(): Promise<BundleState> {
    const row = this.stmt("SELECT value FROM meta WHERE key = 'bundle_sequence'").get() as
      | { value: string }
      | undefined;
    return { sequence: Number(row?.value ?? 1) };
  }

  async createJoinToken(t: JoinTokenRecord): Promise<void> {
    this.stmt(
      'INSERT INTO join_tokens (hash, spiffe_id, dns_names, created_at, expires_at, uses_left, revoked) VALUES (?, ?, ?, ?, ?, ?, 0)',
    ).run(t.hash, t.spiffeId, JSON.stringify(t.dnsNames), t.createdAt, t.expiresAt, t.usesLeft);
  }

  async findJoinToken(hash: string): Promise<JoinTokenRecord | null> {
    const row = this.stmt('SELECT * FROM join_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return row ? toToken(row) : null;
  }

  async listJoinTokens(): Promise<JoinTokenRecord[]> {
    return (this.stmt('SELECT * FROM join_tokens ORDER BY created_at').all() as Row[]).map(toToken);
  }

  async revokeJoinTokens(hashPrefix: string): Promise<number> {
    const prefix = hashPrefix.toLowerCase().replace(/[^0-9a-f]/g, '');
    if (prefix.length < 8)
      throw new TetherError('ERR_USAGE', 'give at least 8 hex characters of the token id');
    return this.stmt("UPDATE join_tokens SET revoked = 1 WHERE hash LIKE ? || '%'").run(prefix).changes;
  }

  async addDeny(e: DenyEntry): Promise<void> {
    this.stmt('INSERT OR REPLACE INTO deny (kind, value, reason, created_at) VALUES (?, ?, ?, ?)').run(
      e.kind,
      e.value,
      e.reason,
      e.createdAt,
    );
  }

  async removeDeny(kind: DenyKind, value: string): Promise<boolean> {
    return this.stmt('DELETE FROM deny WHERE kind = ? AND value = ?').run(kind, value).changes > 0;
  }

  async listDeny(): Promise<DenyEntry[]> {
    return (this.stmt('SELECT * FROM deny ORDER BY created_at').all() as Row[]).map(toDeny);
  }

  async isDenied(spiffeId: string, serial: string | null): Promise<DenyEntry | null> {
    const row = this.stmt(
      "SELECT * FROM deny WHERE (kind = 'spiffe_id' AND value = ?) OR (kind = 'serial' AND value = ?) LIMIT 1",
    ).get(spiffeId, serial ?? '') as Row | undefined;
    return row ? toDeny(row) : null;
  }

  async recordIssuance(record: IssuedRecord, redemption: Redemption | null, now: number): Promise<void> {
    try {
      this.recordTx()(record, redemption, now);
    } catch (err) {
      storeError(err);
    }
  }

  /**
   * Token redemption and the certificate's row in one transaction (commits before the caller
   * returns the certificate). Built once: db.transaction() wraps a new function on every call.
   */
  private recordTx(): (record: IssuedRecord, redemption: Redemption | null, now: number) => void {
    if (this.recordIssuanceTx) return this.recordIssuanceTx;
    const redeem = this.stmt(
      'UPDATE join_tokens SET uses_left = uses_left - 1 WHERE hash = ? AND uses_left > 0 AND revoked = 0 AND expires_at > ?',
    );
    const insert = this.stmt(
      `INSERT INTO issued (serial, spiffe_id, not_before, not_after, attestor, peer, generation_id, issued_at)
       VALUES (@serial, @spiffeId, @notBefore, @notAfter, @attestor, @peer, @generationId, @issuedAt)`,
    );
    this.recordIssuanceTx = this.db.transaction(
      (record: IssuedRecord, redemption: Redemption | null, now: number) => {
        if (redemption && redeem.run(redemption.tokenHash, now).changes !== 1) {
          throw new TetherError(
            'ERR_CREDENTIAL_INVALID',
            'join token is unknown, expired, revoked or already used',
          );
        }
        insert.run(record);
      },
    );
    return this.recordIssuanceTx;
  }

  async countIssued(now: number): Promise<{ total: number; active: number }> {
    const row = this.stmt(
      'SELECT COUNT(*) AS total, SUM(CASE WHEN not_after > ? THEN 1 ELSE 0 END) AS active FROM issued',
    ).get(now) as { total: number; active: number | null };
    return { total: row.total, active: row.active ?? 0 };
  }

  async latestPerIdentity(limit: number): Promise<IssuedRecord[]> {
    const rows = this.stmt(
      `SELECT * FROM (
         SELECT *, ROW_NUMBER() OVER (PARTITION BY spiffe_id ORDER BY issued_at DESC, not_after DESC) AS rank
         FROM issued WHERE attestor != 'self')
       WHERE rank = 1 ORDER BY spiffe_id LIMIT ?`,
    ).all(limit) as Row[];
    return rows.map(toIssued);
  }

  async latestLeafExpiry(generationIds: readonly string[]): Promise<number | null> {
    if (generationIds.length === 0) return null;
    const marks = generationIds.map(() => '?').join(',');
    const row = this.db
      // The CA's own serving certificates ('self') are replaced at a root switch, so they do not hold a root back.
      .prepare(
        `SELECT MAX(not_after) AS latest FROM issued WHERE attestor != 'self' AND generation_id IN (${marks})`,
      )
      .get(...generationIds) as { latest: number | null };
    return row.latest;
  }

  async tokenKeys(): Promise<TokenKeyRecord[]> {
    return (this.stmt('SELECT * FROM token_keys ORDER BY created_at, kid').all() as Row[]).map(toTokenKey);
  }

  async applyTokenKeyChanges(change: TokenKeyChange): Promise<void> {
    const insert = this.stmt(
      `INSERT INTO token_keys (kid, key_file, state, created_at, activated_at, retired_at)
       VALUES (@kid, @keyFile, @state, @createdAt, @activatedAt, @retiredAt)`,
    );
    const setState = this.stmt(
      `UPDATE token_keys SET state = @state,
         activated_at = CASE WHEN @state = 'active' THEN @at ELSE activated_at END,
         retired_at = CASE WHEN @state = 'retired' THEN @at ELSE retired_at END
       WHERE kid = @kid`,
    );
    const remove = this.stmt('DELETE FROM token_keys WHERE kid = ?');
    try {
      this.db.transaction(() => {
        for (const k of change.insert ?? []) insert.run(k);
        for (const s of change.setState ?? []) setState.run(s);
        for (const kid of change.remove ?? []) remove.run(kid);
      })();
    } catch (err) {
      storeError(err);
    }
  }

  async changeCounter(): Promise<number> {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
