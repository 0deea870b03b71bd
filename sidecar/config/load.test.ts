import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { loadSidecarConfig } from './load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'tether-sidecar-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = path.join(dir, `sidecar-${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function refusal(fn: () => unknown): TetherError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    expect((err as TetherError).code).toBe('ERR_CONFIG_INVALID');
    return err as TetherError;
  }
  throw new Error('expected the config to be refused');
}

const FP = `sha256:${'AB'.repeat(32)}`;

const section = (name: string, lines: string[]) => (lines.length ? [`${name}:`, ...lines] : [`${name}: []`]);

/** The design.md §6 example, with whatever lines `extra` adds. */
function config(
  extra: { inbound?: string[]; outbound?: string[]; top?: string[]; ca?: string[] } = {},
): string {
  return [
    'trustDomain: example.org',
    'ca:',
    '  address: 127.0.0.1:8443',
    ...(extra.ca ?? ['  bundleFile: ./bundle.pem']),
    '  joinTokenFile: ./join-token',
    '  ttl: 1h',
    'admin: 127.0.0.1:15000',
    ...(extra.top ?? []),
    ...section(
      'inbound',
      extra.inbound ?? [
        '  - name: orders',
        '    listen: 0.0.0.0:15006',
        '    forward: 127.0.0.1:8080',
        '    allow: [spiffe://example.org/ns/shop/sa/web]',
      ],
    ),
    ...section(
      'outbound',
      extra.outbound ?? [
        '  - name: orders',
        '    listen: 127.0.0.1:15001',
        '    upstream: 127.0.0.1:15006',
        '    serverId: spiffe://example.org/ns/shop/sa/orders',
      ],
    ),
  ].join('\n');
}

describe('loadSidecarConfig', () => {
  it('loads a full valid config with every default applied', () => {
    const file = yamlFile(config());
    expect(loadSidecarConfig(file)).toEqual({
      trustDomain: 'example.org',
      keyType: 'ecdsa-p256',
      ca: {
        address: '127.0.0.1:8443',
        bundleFile: './bundle.pem',
        rootFingerprint: undefined,
        joinTokenFile: './join-token',
        ttlSeconds: 3600,
        timeoutMs: 10_000,
      },
      identity: undefined,
      trustFile: undefined,
      admin: '127.0.0.1:15000',
      files: undefined,
      inbound: [
        {
          name: 'orders',
          listen: '0.0.0.0:15006',
          forward: '127.0.0.1:8080',
          protocol: 'http',
          allow: ['spiffe://example.org/ns/shop/sa/web'],
          psd2Allow: undefined,
          identity: undefined,
          trustFile: undefined,
          minTlsVersion: 'TLSv1.3',
          tlsProfile: 'mesh',
          handshakeTimeoutMs: 10_000,
          maxConnections: 10_000,
          requestTimeoutMs: 60_000,
          headerTimeoutMs: 10_000,
        },
      ],
      outbound: [
        {
          name: 'orders',
          listen: '127.0.0.1:15001',
          upstream: '127.0.0.1:15006',
          protocol: 'http',
          serverId: 'spiffe://example.org/ns/shop/sa/orders',
          serverName: undefined,
          serverSpki: undefined,
          identity: undefined,
          trustFile: undefined,
          minTlsVersion: 'TLSv1.3',
          tlsProfile: 'mesh',
          connectTimeoutMs: 5000,
          requestTimeoutMs: 60_000,
          headerTimeoutMs: 10_000,
        },
      ],
      shutdownGraceMs: 10_000,
      logLevel: 'info',
    });
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(loadSidecarConfig(yamlFile(config())))).toBe(true);
  });

  it('reads explicit settings: TLS 1.2, tcp, durations, key type, fingerprint', () => {
    const c = loadSidecarConfig(
      yamlFile(
        config({
          ca: [`  rootFingerprint: "${FP}"`],
          top: ['keyType: ed25519', 'shutdownGrace: 2s', 'log: { level: debug }'],
          inbound: [
            '  - name: db',
            '    listen: 0.0.0.0:15007',
            '    forward: 127.0.0.1:5432',
            '    protocol: tcp',
            '    allow: [spiffe://example.org/*]',
            '    tls: { minVersion: "1.2" }',
            '    handshakeTimeout: 500ms',
            '    maxConnections: 20',
          ],
        }),
      ),
    );
    expect(c.keyType).toBe('ed25519');
    expect(c.shutdownGraceMs).toBe(2000);
    expect(c.logLevel).toBe('debug');
    expect(c.ca?.bundleFile).toBeUndefined();
    expect(c.ca?.rootFingerprint).toBe(FP.toLowerCase());
    expect(c.inbound[0]).toMatchObject({
      protocol: 'tcp',
      minTlsVersion: 'TLSv1.2',
      handshakeTimeoutMs: 500,
      maxConnections: 20,
    });
  });

  it('applies dotted-key overrides', () => {
    const c = loadSidecarConfig(yamlFile(config()), {
      'ca.ttl': '30m',
      admin: '127.0.0.1:16000',
      keyType: undefined,
    });
    expect(c.ca?.ttlSeconds).toBe(1800);
    expect(c.admin).toBe('127.0.0.1:16000');
    expect(c.keyType).toBe('ecdsa-p256');
  });

  it('parses files.mode as octal', () => {
    const c = loadSidecarConfig(yamlFile(config({ top: ['files: { dir: /run/tether, mode: "0640" }'] })));
    expect(c.files).toEqual({ dir: '/run/tether', mode: 0o640 });
    const three = loadSidecarConfig(yamlFile(config({ top: ['files: { dir: /run/tether, mode: "600" }'] })));
    expect(three.files?.mode).toBe(0o600);
    const dflt = loadSidecarConfig(yamlFile(config({ top: ['files: { dir: /run/tether }'] })));
    expect(dflt.files?.mode).toBe(0o644);
  });

  it('refuses a files.mode that is not octal', () => {
    const err = refusal(() =>
      loadSidecarConfig(yamlFile(config({ top: ['files: { dir: /d, mode: "0649" }'] }))),
    );
    expect(err.message).toContain('files.mode');
  });

  it('reports every schema problem at once, naming each key', () => {
    const file = yamlFile(
      [
        'ca:',
        '  address: 127.0.0.1:8443',
        'shutdownGrace: soon',
        'colour: blue',
        'inbound:',
        '  - name: orders',
        '    listen: 0.0.0.0:15006',
        '    forward: 127.0.0.1:8080',
        '    allow: ["http://example.org/web"]',
      ].join('\n'),
    );
    const { message } = refusal(() => loadSidecarConfig(file));
    expect(message).toContain(file);
    expect(message).toMatch(/^ {2}trustDomain: /m);
    expect(message).toMatch(/^ {2}shutdownGrace: expected a duration/m);
    expect(message).toMatch(/^ {2}inbound\.0\.allow\.0: expected a SPIFFE ID/m);
    expect(message).toMatch(/^ {2}ca: set exactly one of ca\.bundleFile or ca\.rootFingerprint/m);
    expect(message).toMatch(/^ {2}\(root\): .*\(colour\)/m);
  });

  it('refuses both ca.bundleFile and ca.rootFingerprint', () => {
    const file = yamlFile(config({ ca: ['  bundleFile: ./bundle.pem', `  rootFingerprint: "${FP}"`] }));
    expect(refusal(() => loadSidecarConfig(file)).message).toContain(
      'set exactly one of ca.bundleFile or ca.rootFingerprint',
    );
  });

  it('refuses neither ca.bundleFile nor ca.rootFingerprint', () => {
    const file = yamlFile(config({ ca: [] }));
    expect(refusal(() => loadSidecarConfig(file)).message).toContain(
      'set exactly one of ca.bundleFile or ca.rootFingerprint',
    );
  });

  it('names an unknown key inside a listener without echoing its value', () => {
    const file = yamlFile(
      config({
        outbound: [
          '  - name: orders',
          '    listen: 127.0.0.1:15001',
          '    upstream: 127.0.0.1:15006',
          '    serverId: spiffe://example.org/ns/shop/sa/orders',
          '    pasword: hunter2',
        ],
      }),
    );
    const { message } = refusal(() => loadSidecarConfig(file));
    expect(message).toMatch(/outbound\.0: .*\(pasword\)/);
    expect(message).not.toContain('hunter2');
  });

  it('refuses a listen address used twice', () => {
    const file = yamlFile(
      config({
        outbound: [
          '  - name: orders',
          '    listen: 127.0.0.1:15000',
          '    upstream: 127.0.0.1:15006',
          '    serverId: spiffe://example.org/ns/shop/sa/orders',
        ],
      }),
    );
    expect(refusal(() => loadSidecarConfig(file)).message).toContain(
      'listen: 127.0.0.1:15000 is used by more than one listener',
    );
  });

  it('allows several listeners on port 0', () => {
    const file = yamlFile(
      config({
        top: [],
        inbound: [
          '  - { name: a, listen: 127.0.0.1:0, forward: 127.0.0.1:8080, allow: [spiffe://example.org/a] }',
          '  - { name: b, listen: 127.0.0.1:0, forward: 127.0.0.1:8081, allow: [spiffe://example.org/b] }',
        ],
        outbound: [],
      }),
    );
    expect(loadSidecarConfig(file).inbound.map((l) => l.name)).toEqual(['a', 'b']);
  });

  it('refuses a listener name used twice in the same direction', () => {
    const file = yamlFile(
      config({
        inbound: [
          '  - { name: orders, listen: 0.0.0.0:15006, forward: 127.0.0.1:8080, allow: [spiffe://example.org/a] }',
          '  - { name: orders, listen: 0.0.0.0:15007, forward: 127.0.0.1:8081, allow: [spiffe://example.org/b] }',
        ],
      }),
    );
    expect(refusal(() => loadSidecarConfig(file)).message).toContain('inbound: name "orders" is used twice');
  });

  it('refuses an allow pattern outside the trust domain', () => {
    const file = yamlFile(
      config({
        inbound: [
          '  - name: orders',
          '    listen: 0.0.0.0:15006',
          '    forward: 127.0.0.1:8080',
          '    allow: [spiffe://example.org/ok, spiffe://other.org/ns/shop/sa/web, spiffe://example.org.evil/*]',
        ],
      }),
    );
    const { message } = refusal(() => loadSidecarConfig(file));
    expect(message).toContain('inbound.0.allow.1: spiffe://other.org/ns/shop/sa/web is outside trust domain');
    expect(message).toContain('inbound.0.allow.2: spiffe://example.org.evil/* is outside trust domain');
    expect(message).not.toContain('inbound.0.allow.0');
  });

  it('refuses an outbound listener on a non-loopback address', () => {
    for (const listen of ['0.0.0.0:15001', '10.0.0.5:15001', '[::]:15001', 'orders.example.org:15001']) {
      const file = yamlFile(
        config({
          outbound: [
            '  - name: orders',
            `    listen: "${listen}"`,
            '    upstream: 127.0.0.1:15006',
            '    serverId: spiffe://example.org/ns/shop/sa/orders',
          ],
        }),
      );
      expect(refusal(() => loadSidecarConfig(file)).message).toContain(
        `outbound.0.listen: ${listen} must be a loopback address`,
      );
    }
  });

  it('accepts outbound listeners on loopback addresses', () => {
    for (const listen of ['127.0.0.1:15001', '127.0.0.2:15001', '[::1]:15001', 'localhost:15001']) {
      const file = yamlFile(
        config({
          outbound: [
            '  - name: orders',
            `    listen: "${listen}"`,
            '    upstream: 127.0.0.1:15006',
            '    serverId: spiffe://example.org/ns/shop/sa/orders',
          ],
        }),
      );
      expect(loadSidecarConfig(file).outbound[0]?.listen).toBe(listen);
    }
  });

  it('refuses an outbound listen host name that only starts with "127."', () => {
    const file = yamlFile(
      config({
        outbound: [
          '  - name: orders',
          '    listen: 127.attacker.example:15001',
          '    upstream: 127.0.0.1:15006',
          '    serverId: spiffe://example.org/ns/shop/sa/orders',
        ],
      }),
    );
    expect(refusal(() => loadSidecarConfig(file)).message).toContain('must be a loopback address');
  });

  it('refuses a missing or unreadable file', () => {
    expect(refusal(() => loadSidecarConfig(path.join(dir, 'absent.yaml'))).message).toContain('cannot read');
  });
});
