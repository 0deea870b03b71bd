import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { loadCaConfig } from './load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tether-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = path.join(dir, `ca-${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function refusal(fn: () => unknown): TetherError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error('expected the config to be refused');
}

describe('loadCaConfig defaults', () => {
  it('applies every default when only dataDir is given', () => {
    expect(loadCaConfig(undefined, { dataDir: '/var/lib/tether' })).toEqual({
      dataDir: '/var/lib/tether',
      listen: '127.0.0.1:8443',
      metricsListen: '127.0.0.1:9090',
      dnsNames: [],
      defaultTtlSeconds: 3600,
      maxTtlSeconds: 86400,
      servingTtlSeconds: 86400,
      intermediateTtlSeconds: 7 * 86400,
      rootTtlSeconds: 3650 * 86400,
      rootPropagationSeconds: 3600,
      checkIntervalMs: 1000,
      csrPerSecond: 5000,
      csrBurst: 10000,
      failures: { max: 100, windowMs: 60_000, blockMs: 300_000 },
      maxCsrBytes: 16384,
      maxMessageBytes: 65536,
      passphraseEnv: undefined,
      passphraseFile: undefined,
      logLevel: 'info',
      oauth: {
        listen: undefined,
        issuer: undefined,
        tokenTtlSeconds: 900,
        signingKeyTtlSeconds: 86400,
        policies: [],
      },
      kubernetes: {
        issuer: undefined,
        jwksFile: undefined,
        issuerCaFile: undefined,
        tokenReview: false,
        audience: 'tether-ca',
        allowNamespaces: [],
        publishBundle: false,
        injector: {
          listen: undefined,
          image: 'tether:latest',
          caAddress: 'tether-ca.tether-system.svc:8443',
          nativeSidecar: true,
          webhookConfiguration: 'tether-injector',
        },
      },
    });
  });

  it('treats an empty file as all defaults', () => {
    expect(loadCaConfig(yamlFile(''), { dataDir: '/d' }).defaultTtlSeconds).toBe(3600);
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(loadCaConfig(undefined, { dataDir: '/d' }))).toBe(true);
  });

  it('requires dataDir', () => {
    const err = refusal(() => loadCaConfig(undefined, {}));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toContain('dataDir');
  });
});

describe('loadCaConfig file and flags', () => {
  const file = yamlFile(
    [
      'dataDir: /from/file',
      'listen: 0.0.0.0:9443',
      'ttl:',
      '  default: 30m',
      '  max: 2h',
      'limits:',
      '  failures:',
      '    block: 10m',
    ].join('\n'),
  );

  it('reads values from the YAML file', () => {
    const c = loadCaConfig(file, {});
    expect(c.dataDir).toBe('/from/file');
    expect(c.listen).toBe('0.0.0.0:9443');
    expect(c.defaultTtlSeconds).toBe(1800);
    expect(c.maxTtlSeconds).toBe(7200);
    expect(c.failures.blockMs).toBe(600_000);
  });

  it('lets flags override file values and keeps the file’s other values', () => {
    const c = loadCaConfig(file, { 'ttl.default': '15m', listen: '127.0.0.1:1' });
    expect(c.defaultTtlSeconds).toBe(900);
    expect(c.listen).toBe('127.0.0.1:1');
    expect(c.maxTtlSeconds).toBe(7200);
    expect(c.dataDir).toBe('/from/file');
  });

  it('ignores flags whose value is undefined', () => {
    expect(loadCaConfig(file, { 'ttl.default': undefined }).defaultTtlSeconds).toBe(1800);
  });

  it('accepts a bracketed IPv6 listen address', () => {
    expect(loadCaConfig(undefined, { dataDir: '/d', listen: '[::1]:8443' }).listen).toBe('[::1]:8443');
  });
});

describe('loadCaConfig reports every problem at once', () => {
  it('names an unknown key, a bad duration and a bad host:port in one ERR_CONFIG_INVALID', () => {
    const file = yamlFile(
      ['dataDir: /d', 'bogus: 1', 'listen: nohost', 'ttl:', '  default: soon'].join('\n'),
    );
    const err = refusal(() => loadCaConfig(file, {}));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/bogus/);
    expect(err.message).toMatch(/ttl\.default: .*duration.*got "soon"/);
    expect(err.message).toMatch(/listen: .*host:port.*got "nohost"/);
  });

  it('names an unknown nested key with its path', () => {
    const err = refusal(() => loadCaConfig(yamlFile('dataDir: /d\nttl:\n  dflt: 1h\n'), {}));
    expect(err.message).toMatch(/ttl: .*dflt/);
  });

  it('names a misplaced key without echoing its value or the rest of the section', () => {
    // A common slip: the passphrase itself instead of passphraseEnv / passphraseFile.
    const file = yamlFile('dataDir: /d\nkeys:\n  passphrase: s3cret-passphrase\n');
    const err = refusal(() => loadCaConfig(file, {}));
    expect(err.message).toMatch(/keys: .*passphrase/);
    expect(err.message).not.toContain('s3cret-passphrase');
  });

  it('reports a bad flag value under its dotted key', () => {
    const err = refusal(() =>
      loadCaConfig(undefined, { dataDir: '/d', 'limits.csrBurst': -3, 'log.level': 'loud' }),
    );
    expect(err.message).toMatch(/limits\.csrBurst: .*got -3/);
    expect(err.message).toMatch(/log\.level: .*got "loud"/);
  });

  it('refuses a listen port above 65535', () => {
    const err = refusal(() => loadCaConfig(undefined, { dataDir: '/d', listen: '127.0.0.1:99999' }));
    expect(err.message).toMatch(/listen/);
  });

  it('refuses invalid YAML', () => {
    const err = refusal(() => loadCaConfig(yamlFile('dataDir: /d\nttl: [unclosed\n'), {}));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toMatch(/not valid YAML/);
  });

  it('refuses a YAML document that is not a mapping', () => {
    expect(refusal(() => loadCaConfig(yamlFile('- a\n- b\n'), {})).message).toMatch(/must be a YAML mapping/);
  });

  it('refuses a file that cannot be read', () => {
    const err = refusal(() => loadCaConfig(path.join(dir, 'missing.yaml'), {}));
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toMatch(/cannot read/);
  });
});

describe('loadCaConfig consistency', () => {
  it('refuses kubernetes.jwksFile without kubernetes.issuer', () => {
    const err = refusal(() =>
      loadCaConfig(undefined, { dataDir: '/d', 'kubernetes.jwksFile': '/jwks.json' }),
    );
    expect(err.message).toMatch(/kubernetes\.jwksFile: needs kubernetes\.issuer/);
  });

  it('refuses a non-https Kubernetes issuer and malformed namespace names, naming the keys', () => {
    const err = refusal(() =>
      loadCaConfig(undefined, {
        dataDir: '/d',
        'kubernetes.issuer': 'http://kubernetes.default.svc',
        'kubernetes.allowNamespaces': ['shop', 'Bad_NS'],
      }),
    );
    expect(err.message).toMatch(/kubernetes\.issuer/);
    expect(err.message).toMatch(/kubernetes\.allowNamespaces\.1/);
  });

  it('refuses ttl.max shorter than ttl.default', () => {
    const err = refusal(() =>
      loadCaConfig(undefined, { dataDir: '/d', 'ttl.default': '2h', 'ttl.max': '1h' }),
    );
    expect(err.code).toBe('ERR_CONFIG_INVALID');
    expect(err.message).toMatch(/ttl\.max/);
  });

  it('accepts ttl.max equal to ttl.default', () => {
    expect(
      loadCaConfig(undefined, { dataDir: '/d', 'ttl.default': '1h', 'ttl.max': '1h' }).maxTtlSeconds,
    ).toBe(3600);
  });

  it('refuses a default TTL under the 10 s minimum', () => {
    expect(refusal(() => loadCaConfig(undefined, { dataDir: '/d', 'ttl.default': '5s' })).message).toMatch(
      /ttl\.default/,
    );
  });

  it('refuses a root TTL not longer than the intermediate TTL, with the other problems', () => {
    const err = refusal(() =>
      loadCaConfig(undefined, {
        dataDir: '/d',
        'rotation.intermediateTtl': '30s',
        'rotation.rootTtl': '30s',
        'ttl.default': '2h',
        'ttl.max': '1h',
      }),
    );
    expect(err.message).toMatch(/rotation\.intermediateTtl/);
    expect(err.message).toMatch(/rotation\.rootTtl/);
    expect(err.message).toMatch(/ttl\.max/);
  });

  it('never checks the rotation schedule more often than every 100 ms', () => {
    expect(loadCaConfig(undefined, { dataDir: '/d', 'rotation.checkInterval': '10ms' }).checkIntervalMs).toBe(
      100,
    );
  });
});
