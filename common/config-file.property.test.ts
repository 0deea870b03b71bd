// Property tests for the config loaders (CA and sidecar): arbitrary YAML documents, values and
// dotted flag overrides are either accepted into a frozen config or refused with one
// ERR_CONFIG_INVALID naming the problems — never another exception, never a polluted prototype.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadCaConfig } from '../ca/config/load.js';
import { loadSidecarConfig } from '../sidecar/config/load.js';
import { setPath } from './config-file.js';
import { TetherError } from './errors.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tether-config-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string): string {
  const f = path.join(dir, `c-${n++}.yaml`);
  writeFileSync(f, text);
  return f;
}

function settle(fn: () => unknown): 'ok' | 'refused' {
  try {
    const c = fn();
    expect(Object.isFrozen(c)).toBe(true);
    return 'ok';
  } catch (err) {
    if (!(err instanceof TetherError)) throw err;
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    return 'refused';
  }
}

const keys = [
  'trustDomain',
  'ca',
  'address',
  'ttl',
  'inbound',
  'outbound',
  'listen',
  'allow',
  'limits',
  'oauth',
  'policies',
  'dataDir',
  'rotation',
  'maxConnections',
  '__proto__',
  'constructor',
];
const leaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('1h', '-5s', '0s', '99999999999d', '127.0.0.1:0', 'spiffe://example.org/a'),
);
const tree = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom(...keys), tie('node'), { maxKeys: 4 }),
  ),
})).node;
const validSidecar = {
  trustDomain: 'example.org',
  ca: { address: '127.0.0.1:8443', bundleFile: '/b.pem', joinTokenFile: '/t' },
  inbound: [
    { name: 'a', listen: '127.0.0.1:15006', forward: '127.0.0.1:8080', allow: ['spiffe://example.org/*'] },
  ],
};

describe('config loaders under random documents', () => {
  it('either load or refuse with ERR_CONFIG_INVALID for arbitrary YAML mappings', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), tree, { maxKeys: 6 }), (doc) => {
        const f = file(stringify(doc));
        settle(() => loadSidecarConfig(f));
        settle(() => loadCaConfig(f, { dataDir: '/var/lib/tether' }));
      }),
      { numRuns: 150 },
    );
  });

  it('refuse arbitrary text that is not a YAML mapping', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (text) => {
        const f = file(text);
        settle(() => loadSidecarConfig(f));
        settle(() => loadCaConfig(f, { dataDir: '/x' }));
      }),
      { numRuns: 150 },
    );
  });

  it('refuse a mutated value anywhere in a valid sidecar config without crashing', () => {
    const paths = [
      'trustDomain',
      'ca.address',
      'ca.ttl',
      'inbound.0.listen',
      'inbound.0.allow',
      'inbound.0.maxConnections',
      'inbound.0.handshakeTimeout',
      'inbound.0.name',
    ];
    expect(settle(() => loadSidecarConfig(file(stringify(validSidecar))))).toBe('ok');
    fc.assert(
      fc.property(fc.constantFrom(...paths), leaf, (p, value) => {
        settle(() => loadSidecarConfig(file(stringify(validSidecar)), { [p]: value }));
      }),
      { numRuns: 150 },
    );
  });
});

describe('setPath with hostile dotted keys', () => {
  it('never writes through __proto__, constructor or prototype', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a', 'b'), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.string({ maxLength: 8 }),
        (parts, value) => {
          const key = `${parts.join('.')}.tetherPolluted`;
          try {
            setPath({}, key, value);
          } catch (err) {
            expect(err).toBeInstanceOf(TetherError);
          }
          expect(({} as Record<string, unknown>)['tetherPolluted']).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty('tetherPolluted');
        },
      ),
      { numRuns: 100 },
    );
  });
});
