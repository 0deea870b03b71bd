// `tether ca rotate --token-key`: promotes the published next token signing key now (and
// publishes a new next one). A running `ca serve` notices the store change and reloads its keys.
import { systemClock } from '../../common/clock.js';
import { createLogger } from '../../common/logging.js';
import { dataDirPaths } from '../authority/data-dir.js';
import { readPassphrase } from '../authority/keys.js';
import type { CaConfig } from '../config/load.js';
import { SigningKeys } from '../oauth/signing-keys.js';
import { openStore } from './open.js';

/** Rotates the token signing key; returns the CLI output. */
export async function rotateTokenKey(config: CaConfig): Promise<string> {
  const store = openStore(config.dataDir);
  try {
    const keys = await SigningKeys.open({
      store,
      keysDir: dataDirPaths(config.dataDir).keysDir,
      passphrase: readPassphrase({ env: config.passphraseEnv, file: config.passphraseFile }),
      clock: systemClock,
      log: createLogger({ level: process.env['TETHER_LOG_LEVEL'] ?? 'warn', destination: process.stderr }),
      policy: {
        signingKeyTtlSeconds: config.oauth.signingKeyTtlSeconds,
        tokenTtlSeconds: config.oauth.tokenTtlSeconds,
      },
    });
    await keys.rotate(true);
    const lines = keys.records().map((k) => `  ${k.state.padEnd(8)} ${k.kid}`);
    return [`token signing key rotated; published keys:`, ...lines].join('\n');
  } finally {
    await store.close();
  }
}
