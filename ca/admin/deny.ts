// `tether ca deny add|list|remove`: identities or certificate serials that may never obtain or
// renew a certificate. The running CA reads the list on every request, so changes are immediate.
import { systemClock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import type { DenyKind, Store } from '../store/store.js';
import { idInTrustDomain } from './open.js';

export interface DenyTarget {
  readonly spiffeId?: string | undefined;
  readonly serial?: string | undefined;
}

async function resolve(store: Store, t: DenyTarget): Promise<{ kind: DenyKind; value: string }> {
  if (t.spiffeId && t.serial) throw new TetherError('ERR_USAGE', 'give --spiffe-id or --serial, not both');
  if (t.spiffeId) return { kind: 'spiffe_id', value: (await idInTrustDomain(store, t.spiffeId)).toString() };
  if (t.serial) {
    const value = t.serial
      .toLowerCase()
      .replace(/:/g, '')
      .replace(/^(00)+(?=.)/, '');
    if (!/^[0-9a-f]+$/.test(value))
      throw new TetherError('ERR_USAGE', `--serial ${t.serial} is not hexadecimal`);
    return { kind: 'serial', value };
  }
  throw new TetherError('ERR_USAGE', 'give --spiffe-id ID or --serial HEX');
}

export async function denyAdd(store: Store, t: DenyTarget, reason: string): Promise<string> {
  const { kind, value } = await resolve(store, t);
  await store.addDeny({ kind, value, reason, createdAt: systemClock.now() });
  return `denied ${kind === 'serial' ? 'serial' : 'identity'} ${value}`;
}

export async function denyRemove(store: Store, t: DenyTarget): Promise<string> {
  const { kind, value } = await resolve(store, t);
  if (!(await store.removeDeny(kind, value)))
    throw new TetherError('ERR_NOT_FOUND', `${value} is not on the deny list`);
  return `removed ${value} from the deny list`;
}

export async function denyList(store: Store, json: boolean): Promise<string> {
  const rows = await store.listDeny();
  if (json) return JSON.stringify(rows, null, 2);
  if (rows.length === 0) return 'deny list is empty';
  return rows
    .map((r) => `${r.kind.padEnd(9)} ${r.value}  since ${new Date(r.createdAt).toISOString()}  ${r.reason}`)
    .join('\n');
}
