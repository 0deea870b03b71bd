// `tether ca token create|list|revoke`: join tokens. The plaintext is printed once and never stored.
import { systemClock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import { createJoinToken, joinTokenId } from '../attestation/join-token.js';
import type { JoinTokenRecord, Store } from '../store/store.js';
import { idInTrustDomain } from './open.js';

export async function tokenCreate(
  store: Store,
  o: { spiffeId: string; ttlSeconds: number; uses: number; dnsNames: string[] },
): Promise<string> {
  const spiffeId = await idInTrustDomain(store, o.spiffeId);
  const { token } = await createJoinToken(store, {
    spiffeId,
    ttlSeconds: o.ttlSeconds,
    uses: o.uses,
    dnsNames: o.dnsNames,
    now: systemClock.now(),
  });
  return token;
}

function tokenState(t: JoinTokenRecord, now: number): string {
  if (t.revoked) return 'revoked';
  if (t.usesLeft < 1) return 'used';
  return t.expiresAt <= now ? 'expired' : 'active';
}

export async function tokenList(store: Store, json: boolean): Promise<string> {
  const now = systemClock.now();
  const rows = (await store.listJoinTokens()).map((t) => ({
    id: joinTokenId(t.hash),
    spiffeId: t.spiffeId,
    state: tokenState(t, now),
    usesLeft: t.usesLeft,
    expiresAt: new Date(t.expiresAt).toISOString(),
    dnsNames: t.dnsNames,
  }));
  if (json) return JSON.stringify(rows, null, 2);
  if (rows.length === 0) return 'no join tokens';
  const lines = rows.map(
    (r) =>
      `${r.id}  ${r.state.padEnd(8)} uses left ${String(r.usesLeft).padEnd(4)} expires ${r.expiresAt}  ${r.spiffeId}`,
  );
  return ['ID            STATE    USES          EXPIRES                           SPIFFE ID', ...lines].join(
    '\n',
  );
}

export async function tokenRevoke(store: Store, id: string): Promise<string> {
  const n = await store.revokeJoinTokens(id);
  if (n === 0)
    throw new TetherError('ERR_NOT_FOUND', `no join token with id ${id} (see "tether ca token list")`);
  if (n > 1) return `revoked ${n} tokens matching ${id}`;
  return `revoked token ${id}`;
}
