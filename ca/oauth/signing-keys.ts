// The token signing keys: ES256 keys with a kid (RFC 7638 thumbprint), kept as PKCS#8 files in
// the data dir's keys/ folder (0600, encrypted with the CA passphrase if set) and their state in
// the store, so `tether ca rotate --token-key` and the running server share them.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Clock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import type { Logger } from '../../common/logging.js';
import { readKeyFile, writeKeyFile } from '../authority/keys.js';
import type { Store, TokenKeyChange, TokenKeyRecord } from '../store/store.js';
import { type KeyRotationPolicy, type KeyStep, planKeyRotation } from './key-rotation.js';

export const TOKEN_SIGNING_ALG = 'ES256';

export interface SigningKeysOptions {
  readonly store: Store;
  readonly keysDir: string;
  readonly passphrase: string | null;
  readonly clock: Clock;
  readonly log: Logger;
  readonly policy: KeyRotationPolicy;
}

/** The key that signs now. */
export interface ActiveSigner {
  readonly kid: string;
  readonly key: KeyObject;
}

interface LoadedKey {
  readonly record: TokenKeyRecord;
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
}

async function publicJwk(privateKey: KeyObject, kid: string): Promise<JWK> {
  const jwk = await exportJWK(createPublicKey(privateKey));
  return { ...jwk, kid, use: 'sig', alg: TOKEN_SIGNING_ALG };
}

export class SigningKeys {
  private loaded = new Map<string, LoadedKey>();

  private constructor(private readonly o: SigningKeysOptions) {}

  /** Loads the keys and applies any rotation step that is due (creating the first keys). */
  static async open(o: SigningKeysOptions): Promise<SigningKeys> {
    const keys = new SigningKeys(o);
    await keys.reload();
    await keys.rotate(false);
    return keys;
  }

  /** Re-reads the key set from the store (after the CLI changed it). */
  async reload(): Promise<void> {
    const next = new Map<string, LoadedKey>();
    for (const record of await this.o.store.tokenKeys()) {
      const have = this.loaded.get(record.kid);
      const privateKey = have?.privateKey ?? readKeyFile(this.o.keysDir, record.keyFile, this.o.passphrase);
      next.set(record.kid, {
        record,
        privateKey,
        jwk: have?.jwk ?? (await publicJwk(privateKey, record.kid)),
      });
    }
    this.loaded = next;
  }

  /** Applies the scheduled steps (`force`: rotate now); returns what was done. */
  async rotate(force: boolean): Promise<KeyStep[]> {
    const records = [...this.loaded.values()].map((k) => k.record);
    const steps = planKeyRotation(this.o.clock.now(), records, this.o.policy, force);
    if (steps.length === 0) return steps;
    await this.o.store.applyTokenKeyChanges(await this.changeFor(steps));
    for (const step of steps)
      this.o.log.info({ step: step.kind, kid: kidOf(step) }, 'token signing key rotation step');
    await this.reload();
    for (const step of steps) if (step.kind === 'drop') this.removeFile(step.kid, records);
    return steps;
  }

  /** The active key; ERR_CA_NOT_READY if there is none. */
  signer(): ActiveSigner {
    const active = [...this.loaded.values()].find((k) => k.record.state === 'active');
    if (!active) throw new TetherError('ERR_CA_NOT_READY', 'no active token signing key');
    return { kid: active.record.kid, key: active.privateKey };
  }

  /** Every published public key: next, active and not-yet-dropped retired ones. */
  jwks(): { keys: JWK[] } {
    return { keys: [...this.loaded.values()].map((k) => k.jwk) };
  }

  /** The stored records (for status and tests). */
  records(): TokenKeyRecord[] {
    return [...this.loaded.values()].map((k) => k.record);
  }

  private async changeFor(steps: readonly KeyStep[]): Promise<TokenKeyChange> {
    const now = this.o.clock.now();
    const insert: TokenKeyRecord[] = [];
    const setState: { kid: string; state: TokenKeyRecord['state']; at: number }[] = [];
    const remove: string[] = [];
    for (const step of steps) {
      if (step.kind === 'drop') remove.push(step.kid);
      if (step.kind === 'create-next') insert.push(await this.createKey('next', now));
      if (step.kind === 'create-active') insert.push(await this.createKey('active', now));
      if (step.kind === 'promote') setState.push({ kid: step.kid, state: 'active', at: now });
      if ((step.kind === 'promote' || step.kind === 'create-active') && step.retireKid)
        setState.push({ kid: step.retireKid, state: 'retired', at: now });
    }
    return { insert, setState, remove };
  }

  private async createKey(state: 'active' | 'next', now: number): Promise<TokenKeyRecord> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const kid = await calculateJwkThumbprint(await exportJWK(createPublicKey(privateKey)));
    const keyFile = `token-${kid}.key.pem`;
    writeKeyFile(this.o.keysDir, keyFile, privateKey, this.o.passphrase);
    return {
      kid,
      keyFile,
      state,
      createdAt: now,
      activatedAt: state === 'active' ? now : null,
      retiredAt: null,
    };
  }

  private removeFile(kid: string, records: readonly TokenKeyRecord[]): void {
    const record = records.find((r) => r.kid === kid);
    if (record) rmSync(path.join(this.o.keysDir, record.keyFile), { force: true });
  }
}

function kidOf(step: KeyStep): string | undefined {
  return 'kid' in step ? step.kid : undefined;
}
