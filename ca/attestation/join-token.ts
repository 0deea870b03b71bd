// Join tokens: printed once at creation (`tjt_` + 256 random bits), stored only as SHA-256,
// limited in uses and lifetime. Redemption is atomic with recording the certificate it buys.
import { hash, randomBytes } from 'node:crypto';
import { TetherError } from '../../common/errors.js';
import { parseWorkloadId, type SpiffeId } from '../../common/spiffe-id.js';
import type { JoinTokenRecord, Store } from '../store/store.js';
import type { Attestation, AttestationInput, Attestor } from './attestor.js';

export const JOIN_TOKEN_PREFIX = 'tjt_';
const TOKEN_FORMAT = /^tjt_[A-Za-z0-9_-]{43}$/;

/** Lowercase hex SHA-256 of a token: the only form that is stored. */
export function hashJoinToken(token: string): string {
  return hash('sha256', token, 'hex'); // one-shot: no Hash object per issuance
}

/** The short id shown by `token list` and accepted by `token revoke`: a prefix of the hash. */
export function joinTokenId(hash: string): string {
  return hash.slice(0, 12);
}

export interface NewJoinToken {
  readonly spiffeId: SpiffeId;
  readonly ttlSeconds: number;
  readonly uses: number;
  readonly dnsNames: readonly string[];
  readonly now: number;
}

/** Creates a token and stores its hash; returns the plaintext, which exists nowhere else. */
export async function createJoinToken(
  store: Store,
  input: NewJoinToken,
): Promise<{ token: string; record: JoinTokenRecord }> {
  if (!Number.isInteger(input.uses) || input.uses < 1)
    throw new TetherError('ERR_USAGE', '--uses must be a whole number ≥ 1');
  if (!(input.ttlSeconds > 0)) throw new TetherError('ERR_USAGE', '--ttl must be longer than 0s');
  const token = JOIN_TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const record: JoinTokenRecord = {
    hash: hashJoinToken(token),
    spiffeId: input.spiffeId.toString(),
    dnsNames: [...input.dnsNames],
    createdAt: input.now,
    expiresAt: input.now + input.ttlSeconds * 1000,
    usesLeft: input.uses,
    revoked: false,
  };
  await store.createJoinToken(record);
  return { token, record };
}

const INVALID = 'join token is unknown, expired, revoked or already used';

export class JoinTokenAttestor implements Attestor {
  readonly name = 'join_token';

  constructor(private readonly store: Store) {}

  handles(input: AttestationInput): boolean {
    return input.credential.kind === 'join_token';
  }

  async attest(input: AttestationInput): Promise<Attestation> {
    if (input.credential.kind !== 'join_token') throw new TetherError('ERR_INTERNAL', 'wrong attestor');
    const token = input.credential.token;
    // One message for every failure: the caller learns nothing about which tokens exist.
    if (!TOKEN_FORMAT.test(token)) throw new TetherError('ERR_CREDENTIAL_INVALID', INVALID);
    const record = await this.store.findJoinToken(hashJoinToken(token));
    if (!record || record.revoked || record.usesLeft < 1 || record.expiresAt <= input.now) {
      throw new TetherError('ERR_CREDENTIAL_INVALID', INVALID);
    }
    return {
      spiffeId: parseWorkloadId(record.spiffeId),
      dnsNames: record.dnsNames,
      maxTtlSeconds: null,
      attestor: this.name,
      redemption: { tokenHash: record.hash },
      presentedSerial: null,
    };
  }
}
