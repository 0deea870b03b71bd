// Optional file output for workloads that read their identity from disk: cert.pem (chain),
// key.pem (always 0600) and bundle.pem, each written atomically on every change.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import type { Logger } from '../../common/logging.js';
import type { IdentityState } from './svid.js';

export function fileWriter(dir: string, mode: number, log: Logger): (state: IdentityState) => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let lastSerial: string | null = null;
  let lastSequence = -1;
  let lastBundlePem = '';
  return (state) => {
    try {
      if (state.svid && state.svid.serial !== lastSerial) {
        writeFileAtomic(path.join(dir, 'key.pem'), state.svid.keyPem, 0o600);
        writeFileAtomic(path.join(dir, 'cert.pem'), state.svid.chainPem, mode);
        lastSerial = state.svid.serial;
      }
      if (state.bundle && (state.bundle.sequence !== lastSequence || state.bundle.pem !== lastBundlePem)) {
        writeFileAtomic(path.join(dir, 'bundle.pem'), state.bundle.pem, mode);
        lastSequence = state.bundle.sequence;
        lastBundlePem = state.bundle.pem;
      }
    } catch (err) {
      log.error({ dir, err: (err as Error).message }, 'cannot write identity files');
    }
  };
}
