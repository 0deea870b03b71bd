// CA private keys: generated with node:crypto, stored as PKCS#8 PEM (optionally encrypted with a
// passphrase), mode 0600, written atomically. Keys are never logged and never leave this module
// except as KeyObjects.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { TetherError } from '../../common/errors.js';

export const CA_KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type CaKeyType = (typeof CA_KEY_TYPES)[number];

/** Generates a CA key pair of the given type. */
export function generateCaKey(type: CaKeyType): { privateKey: KeyObject; publicKey: KeyObject } {
  switch (type) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return generateKeyPairSync('rsa', { modulusLength: Number(type.slice(4)) });
  }
}

/** Writes a private key as PKCS#8 PEM, encrypted with AES-256 when a passphrase is given. */
export function writeKeyFile(keysDir: string, name: string, key: KeyObject, passphrase: string | null): void {
  const pem = passphrase
    ? key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
    : key.export({ type: 'pkcs8', format: 'pem' });
  writeFileAtomic(path.join(keysDir, name), pem, 0o600);
}

/** Reads a key written by writeKeyFile; a wrong or missing passphrase is a clear error. */
export function readKeyFile(keysDir: string, name: string, passphrase: string | null): KeyObject {
  const file = path.join(keysDir, name);
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TetherError('ERR_KEY_UNREADABLE', `cannot read CA key ${file}`, { cause: err });
  }
  const encrypted = pem.includes('ENCRYPTED PRIVATE KEY');
  if (encrypted && !passphrase) {
    throw new TetherError(
      'ERR_KEY_UNREADABLE',
      `CA key ${file} is encrypted: give the passphrase with --key-passphrase-env VAR or --key-passphrase-file FILE`,
    );
  }
  try {
    return createPrivateKey(
      encrypted ? { key: pem, format: 'pem', passphrase: passphrase! } : { key: pem, format: 'pem' },
    );
  } catch (err) {
    throw new TetherError('ERR_KEY_UNREADABLE', `cannot decrypt CA key ${file}: wrong passphrase?`, {
      cause: err,
    });
  }
}

/** Resolves the key passphrase from an environment variable or a file (first line), if either is set. */
export function readPassphrase(source: {
  env?: string | undefined;
  file?: string | undefined;
}): string | null {
  if (source.env) {
    const value = process.env[source.env];
    if (!value)
      throw new TetherError(
        'ERR_USAGE',
        `environment variable ${source.env} (key passphrase) is empty or unset`,
      );
    return value;
  }
  if (source.file) {
    try {
      const value = readFileSync(source.file, 'utf8').split(/\r?\n/)[0] ?? '';
      if (value.length === 0) throw new Error('empty');
      return value;
    } catch (err) {
      throw new TetherError('ERR_USAGE', `cannot read the key passphrase from ${source.file}`, {
        cause: err,
      });
    }
  }
  return null;
}
