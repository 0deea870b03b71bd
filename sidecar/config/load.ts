// Loads and freezes the sidecar config: YAML, validated as a whole, durations parsed once,
// plus cross-field checks (unique names and ports, allow patterns inside the trust domain).
import net from 'node:net';
import { splitHostPort } from '../../common/address.js';
import { readYamlFile, setPath, validateConfig } from '../../common/config-file.js';
import { parseDurationMs } from '../../common/duration.js';
import { TetherError } from '../../common/errors.js';
import { type SidecarConfigRaw, sidecarConfigSchema } from './schema.js';

export type KeyType = SidecarConfigRaw['keyType'];

/** Inbound token enforcement (RFC 6750 / 9068 / 7662 / 8705). */
export interface InboundTokenConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly mode: 'jwt' | 'introspection';
  /** PEM file with roots for the AS's HTTPS certificate; undefined = the mesh bundle. */
  readonly caFile: string | undefined;
  readonly paths: readonly { readonly prefix: string; readonly scopes: readonly string[] }[];
}

/** Outbound token acquisition (RFC 8705 client_credentials with tls_client_auth). */
export interface OutboundTokenConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string | undefined;
  readonly caFile: string | undefined;
}

export interface InboundConfig {
  readonly name: string;
  readonly listen: string;
  readonly forward: string;
  readonly protocol: 'tcp' | 'http';
  readonly allow: readonly string[];
  readonly minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly requestTimeoutMs: number;
  /** HTTP mode: a client must send its request headers within this time. */
  readonly headerTimeoutMs: number;
  /** HTTP mode: larger request bodies are answered 413 (undefined: no limit). */
  readonly maxBodyBytes: number | undefined;
  readonly token: InboundTokenConfig | undefined;
}

export interface OutboundConfig {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly protocol: 'tcp' | 'http';
  readonly serverId: string;
  readonly minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headerTimeoutMs: number;
  readonly maxBodyBytes: number | undefined;
  readonly token: OutboundTokenConfig | undefined;
}

export interface SidecarConfig {
  readonly trustDomain: string;
  readonly keyType: KeyType;
  readonly ca: {
    readonly address: string;
    readonly bundleFile: string | undefined;
    readonly rootFingerprint: string | undefined;
    readonly joinTokenFile: string | undefined;
    /** Projected service-account token (audience tether-ca); re-read on every use. */
    readonly kubernetesTokenFile: string | undefined;
    readonly ttlSeconds: number;
    readonly timeoutMs: number;
  };
  readonly admin: string;
  readonly files: { readonly dir: string; readonly mode: number } | undefined;
  readonly inbound: readonly InboundConfig[];
  readonly outbound: readonly OutboundConfig[];
  readonly shutdownGraceMs: number;
  readonly logLevel: string;
}

const tlsVersion = (v: '1.2' | '1.3') => (v === '1.2' ? 'TLSv1.2' : 'TLSv1.3') as 'TLSv1.2' | 'TLSv1.3';

function crossChecks(c: SidecarConfigRaw): string[] {
  const problems: string[] = [];
  const listens = [c.admin, ...c.inbound.map((i) => i.listen), ...c.outbound.map((o) => o.listen)];
  const dup = listens.find((l, i) => listens.indexOf(l) !== i && !l.endsWith(':0'));
  if (dup) problems.push(`  listen: ${dup} is used by more than one listener`);
  for (const [kind, list] of [
    ['inbound', c.inbound],
    ['outbound', c.outbound],
  ] as const) {
    const names = list.map((l) => l.name);
    const dupName = names.find((n, i) => names.indexOf(n) !== i);
    if (dupName) problems.push(`  ${kind}: name "${dupName}" is used twice`);
  }
  c.inbound.forEach((l, i) => {
    l.allow.forEach((a, j) => {
      if (!a.startsWith(`spiffe://${c.trustDomain}/`) && a !== `spiffe://${c.trustDomain}/*`) {
        problems.push(`  inbound.${i}.allow.${j}: ${a} is outside trust domain ${c.trustDomain}`);
      }
    });
  });
  for (const [kind, list] of [
    ['inbound', c.inbound],
    ['outbound', c.outbound],
  ] as const) {
    list.forEach((l, i) => {
      if (l.token && l.protocol === 'tcp')
        problems.push(
          `  ${kind}.${i}.token: bearer tokens need protocol: http (listener "${l.name}" is tcp)`,
        );
    });
  }
  c.outbound.forEach((o, i) => {
    const { host } = splitHostPort(o.listen);
    const loopback = (net.isIPv4(host) && host.startsWith('127.')) || host === '::1' || host === 'localhost';
    if (!loopback) {
      problems.push(
        `  outbound.${i}.listen: ${o.listen} must be a loopback address (outbound listeners are plaintext)`,
      );
    }
  });
  return problems;
}

/** Loads the sidecar config from `file`, with dotted-key overrides from flags. */
export function loadSidecarConfig(file: string, overrides: Record<string, unknown> = {}): SidecarConfig {
  const raw = readYamlFile(file);
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) setPath(raw, key, value);
  const c = validateConfig(sidecarConfigSchema, raw, 'sidecar configuration', file);
  const problems = crossChecks(c);
  if (problems.length > 0)
    throw new TetherError(
      'ERR_CONFIG_INVALID',
      `invalid sidecar configuration in ${file}:\n${problems.join('\n')}`,
    );
  const ms = parseDurationMs;
  return Object.freeze({
    trustDomain: c.trustDomain,
    keyType: c.keyType,
    ca: {
      address: c.ca.address,
      bundleFile: c.ca.bundleFile,
      rootFingerprint: c.ca.rootFingerprint?.toLowerCase(),
      joinTokenFile: c.ca.joinTokenFile,
      kubernetesTokenFile: c.ca.kubernetesTokenFile,
      ttlSeconds: Math.round(ms(c.ca.ttl) / 1000),
      timeoutMs: ms(c.ca.timeout),
    },
    admin: c.admin,
    files: c.files ? { dir: c.files.dir, mode: Number.parseInt(c.files.mode, 8) } : undefined,
    inbound: c.inbound.map((l) => ({
      name: l.name,
      listen: l.listen,
      forward: l.forward,
      protocol: l.protocol,
      allow: l.allow,
      minTlsVersion: tlsVersion(l.tls.minVersion),
      handshakeTimeoutMs: ms(l.handshakeTimeout),
      maxConnections: l.maxConnections,
      requestTimeoutMs: ms(l.requestTimeout),
      headerTimeoutMs: ms(l.headerTimeout),
      maxBodyBytes: l.maxBodySize,
      token: l.token && { ...l.token, caFile: l.token.caFile },
    })),
    outbound: c.outbound.map((o) => ({
      name: o.name,
      listen: o.listen,
      upstream: o.upstream,
      protocol: o.protocol,
      serverId: o.serverId,
      minTlsVersion: tlsVersion(o.tls.minVersion),
      connectTimeoutMs: ms(o.connectTimeout),
      requestTimeoutMs: ms(o.requestTimeout),
      headerTimeoutMs: ms(o.headerTimeout),
      maxBodyBytes: o.maxBodySize,
      token: o.token && { ...o.token, scope: o.token.scope, caFile: o.token.caFile },
    })),
    shutdownGraceMs: ms(c.shutdownGrace),
    logLevel: c.log.level,
  });
}
