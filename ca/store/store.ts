// The CA's persistent state behind one small async interface: SQLite (sqlite.ts) by default,
// with room for a PostgreSQL implementation when CA replicas share state.

export type GenerationKind = 'root' | 'intermediate' | 'upstream';

/**
 * Roots:         prepared (in the bundle, not signing yet) → active → retiring (in the bundle,
 *                no longer signing) → retired (out of the bundle).
 * Intermediates: prepared (created, not signing yet) → active → retired.
 * Upstream:      the operator-supplied CA; always active.
 */
export type GenerationState = 'prepared' | 'active' | 'retiring' | 'retired';

/** One CA certificate Tether holds a key for (or the upstream CA). Times are ms since epoch. */
export interface CaGeneration {
  readonly id: string;
  readonly kind: GenerationKind;
  readonly parentId: string | null;
  readonly certDer: Buffer;
  /** Key file name inside the data dir's keys/ folder. */
  readonly keyFile: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly state: GenerationState;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
}

export interface IssuedRecord {
  readonly serial: string;
  readonly spiffeId: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly attestor: string;
  readonly peer: string;
  /** The intermediate that signed it. */
  readonly generationId: string;
  readonly issuedAt: number;
}

export interface JoinTokenRecord {
  /** Lowercase hex SHA-256 of the token: the plaintext is never stored. */
  readonly hash: string;
  readonly spiffeId: string;
  readonly dnsNames: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly usesLeft: number;
  readonly revoked: boolean;
}

export type DenyKind = 'spiffe_id' | 'serial';

export interface DenyEntry {
  readonly kind: DenyKind;
  readonly value: string;
  readonly reason: string;
  readonly createdAt: number;
}

/**
 * A token signing key (ca/oauth/signing-keys.ts): `next` is published in the JWKS but does not
 * sign yet, `active` signs, `retired` stays published until `dropAt` (its last token's expiry).
 */
export type TokenKeyState = 'next' | 'active' | 'retired';

export interface TokenKeyRecord {
  readonly kid: string;
  /** Key file name inside the data dir's keys/ folder. */
  readonly keyFile: string;
  readonly state: TokenKeyState;
  readonly createdAt: number;
  readonly activatedAt: number | null;
  readonly retiredAt: number | null;
}

export interface TokenKeyChange {
  readonly insert?: readonly TokenKeyRecord[];
  readonly setState?: readonly { kid: string; state: TokenKeyState; at: number }[];
  readonly remove?: readonly string[];
}

/** State fixed at `ca init`. */
export interface CaMeta {
  readonly trustDomain: string;
  readonly keyType: string;
  /** Upstream mode: DER chain above the upstream CA (excluding it), and the roots to publish. */
  readonly upstreamChain: Buffer[];
  readonly upstreamBundle: Buffer[];
}

export interface BundleState {
  readonly sequence: number;
}

/** Redeem one use of a join token atomically with recording the certificate it bought. */
export interface Redemption {
  readonly tokenHash: string;
}

export interface Store {
  init(meta: CaMeta): Promise<void>;
  meta(): Promise<CaMeta | null>;

  generations(): Promise<CaGeneration[]>;
  /** Applies a set of generation inserts and state changes in one transaction; bumps the bundle sequence if asked. */
  applyGenerationChanges(change: GenerationChange): Promise<void>;
  bundleState(): Promise<BundleState>;

  createJoinToken(token: JoinTokenRecord): Promise<void>;
  findJoinToken(hash: string): Promise<JoinTokenRecord | null>;
  listJoinTokens(): Promise<JoinTokenRecord[]>;
  /** Revokes every token whose hash starts with `hashPrefix`; returns how many. */
  revokeJoinTokens(hashPrefix: string): Promise<number>;

  addDeny(entry: DenyEntry): Promise<void>;
  removeDeny(kind: DenyKind, value: string): Promise<boolean>;
  listDeny(): Promise<DenyEntry[]>;
  isDenied(spiffeId: string, serial: string | null): Promise<DenyEntry | null>;

  /** Records an issuance (and redeems a token use) atomically; throws if the token has no use left. */
  recordIssuance(record: IssuedRecord, redemption: Redemption | null, now: number): Promise<void>;
  countIssued(now: number): Promise<{ total: number; active: number }>;
  /**
   * The most recently issued workload certificate of each SPIFFE ID (not the CA's own serving
   * certificates), ordered by SPIFFE ID, at most `limit` rows.
   */
  latestPerIdentity(limit: number): Promise<IssuedRecord[]>;
  /** Latest notAfter among workload leaves signed by these intermediates (not the CA's own), or null if none. */
  latestLeafExpiry(generationIds: readonly string[]): Promise<number | null>;

  tokenKeys(): Promise<TokenKeyRecord[]>;
  /** Applies token key inserts, state changes and removals in one transaction. */
  applyTokenKeyChanges(change: TokenKeyChange): Promise<void>;

  /** A number that changes whenever another process commits; lets a server notice CLI changes. */
  changeCounter(): Promise<number>;
  close(): Promise<void>;
}

export interface GenerationChange {
  readonly insert?: readonly CaGeneration[];
  readonly setState?: readonly { id: string; state: GenerationState; at: number }[];
  readonly bumpBundle?: boolean;
}
