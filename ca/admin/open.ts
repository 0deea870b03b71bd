// Opening an existing CA's data dir from the CLI: the store alone, or the full authority
// (keys included) for commands that sign.
import { systemClock } from '../../common/clock.js';
import { TetherError } from '../../common/errors.js';
import { createLogger } from '../../common/logging.js';
import { parseWorkloadId, type SpiffeId } from '../../common/spiffe-id.js';
import { Authority } from '../authority/authority.js';
import { dataDirPaths } from '../authority/data-dir.js';
import { readPassphrase } from '../authority/keys.js';
import type { CaConfig } from '../config/load.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';

export function openStore(dataDir: string): Store {
  return new SqliteStore(dataDirPaths(dataDir).dbFile, { create: false });
}

/** Opens the authority with the config's rotation policy (CLI rotations must match the server's). */
export async function openAuthority(config: CaConfig): Promise<{ store: Store; authority: Authority }> {
  const dir = dataDirPaths(config.dataDir);
  const store = openStore(config.dataDir);
  const authority = await Authority.open({
    store,
    storage: {
      keysDir: dir.keysDir,
      passphrase: readPassphrase({ env: config.passphraseEnv, file: config.passphraseFile }),
    },
    clock: systemClock,
    log: createLogger({ level: process.env['TETHER_LOG_LEVEL'] ?? 'warn', destination: process.stderr }),
    policy: {
      intermediateTtlSeconds: config.intermediateTtlSeconds,
      rootTtlSeconds: config.rootTtlSeconds,
      rootPropagationSeconds: config.rootPropagationSeconds,
      maxLeafTtlSeconds: config.maxTtlSeconds,
    },
  });
  return { store, authority };
}

/** Parses a workload ID and checks it belongs to the CA's trust domain. */
export async function idInTrustDomain(store: Store, input: string): Promise<SpiffeId> {
  const id = parseWorkloadId(input);
  const meta = await store.meta();
  if (meta && id.trustDomain !== meta.trustDomain) {
    throw new TetherError(
      'ERR_TRUST_DOMAIN_MISMATCH',
      `${input} is not in this CA's trust domain ${meta.trustDomain}`,
    );
  }
  return id;
}
