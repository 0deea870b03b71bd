// The workload's private key: generated in memory at start, never written anywhere unless the
// operator asks for file output, never sent to the CA (only a CSR is).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { KeyType } from '../config/load.js';

export function generateWorkloadKey(type: KeyType): KeyObject {
  switch (type) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    case 'ecdsa-p384':
      return generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'ed25519':
      return generateKeyPairSync('ed25519').privateKey;
  }
}
