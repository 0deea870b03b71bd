// Loads and freezes the sidecar config: YAML, validated as a whole, durations parsed once,
// plus cross-field checks (unique names and ports, allow patterns inside the trust domain).
import net from 'node:net';
import { splitHostPort } from '../../common/address.js';
import { readYamlFile, setPath, validateConfig } from '../../common/config-file.js';
import { parseDurationMs } from '../../common/duration.js';
import { TetherError } from '../../common/errors.js';
import type { IdentityFiles } from '../identity/load-identity-files.js';
import type { Psd2AllowConfig } from '../psd2/psd2-allow.js';
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
  /** client_id for introspection; undefined = the SPIFFE ID. */
  readonly clientId?: string | undefined;
  readonly paths: readonly { readonly prefix: string; readonly scopes: readonly string[] }[];
}

/** Outbound token acquisition (RFC 8705 client_credentials with tls_client_auth). */
export interface OutboundTokenConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string | undefined;
  readonly caFile: string | undefined;
  /** Sent as client_id; undefined = the SPIFFE ID. */
  readonly clientId: string | undefined;
}

/** TLS profile: `mesh` (ECDHE + AEAD) or `fapi` (FAPI 1.0 Advanced §8.5 suites, RSA ≥ 2048). */
export type TlsProfile = 'mesh' | 'fapi';

/** Where a listener's certificate and trust come from (undefined = the sidecar default). */
export interface ListenerIdentityConfig {
  readonly identity: IdentityFiles | undefined;
  readonly trustFile: string | undefined;
}

export interface InboundConfig extends ListenerIdentityConfig {
  readonly name: string;
  readonly listen: string;
  readonly forward: string;
  readonly protocol: 'tcp' | 'http';
  /** Allowed SPIFFE IDs (empty when the listener admits by PSD2 facts). */
  readonly allow: readonly string[];
  /** Admission by eIDAS/PSD2 facts instead of SPIFFE ID. */
  readonly psd2Allow: Psd2AllowConfig | undefined;
  readonly minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly tlsProfile: TlsProfile;
  readonly handshakeTimeoutMs: number;
  readonly maxConnections: number;
  readonly requestTimeoutMs: number;
  /** HTTP mode: a client must send its request headers within this time. */
  readonly headerTimeoutMs: number;
  /** HTTP mode: larger request bodies are answered 413 (undefined: no limit). */
  readonly maxBodyBytes: number | undefined;
  readonly token: InboundTokenConfig | undefined;
}

export interface OutboundConfig extends ListenerIdentityConfig {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly protocol: 'tcp' | 'http';
  /** Exactly one way to verify the server: SPIFFE ID, or DNS name and/or pinned SPKI. */
  readonly serverId: string | undefined;
  readonly serverName: string | undefined;
  /** base64 SHA-256 of the server's SubjectPublicKeyInfo (after `sha256:`). */
  readonly serverSpki: string | undefined;
  readonly minTlsVersion: 'TLSv1.2' | 'TLSv1.3';
  readonly tlsProfile: TlsProfile;
  readonly connectTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly headerTimeoutMs: number;
  readonly maxBodyBytes: number | undefined;
  readonly token: OutboundTokenConfig | undefined;
}

export interface CaSettings {
  readonly address: string;
  readonly bundleFile: string | undefined;
  readonly rootFingerprint: string | undefined;
  readonly joinTokenFile: string | undefined;
  /** Projected service-account token (audience tether-ca); re-read on every use. */
  readonly kubernetesTokenFile: string | undefined;
  readonly ttlSeconds: number;
  readonly timeoutMs: number;
}

/** A config with a mesh CA (what IdentitySource needs). */
export type CaSidecarConfig = SidecarConfig & { readonly ca: CaSettings; readonly trustDomain: string };

export function hasCa(c: SidecarConfig): c is CaSidecarConfig {
  return c.ca !== undefined && c.trustDomain !== undefined;
}

export interface SidecarConfig {
  /** Undefined only when there is no mesh CA (identity and trust come from files). */
  readonly trustDomain: string | undefined;
  readonly keyType: KeyType;
  readonly ca: CaSettings | undefined;
  /** Defaults for listeners without their own `identity` / `trust`. */
  readonly identity: IdentityFiles | undefined;
  readonly trustFile: string | undefined;
  readonly admin: string;
  readonly files: { readonly dir: string; readonly mode: number } | undefined;
  readonly inbound: readonly InboundConfig[];
  readonly outbound: readonly OutboundConfig[];
  readonly shutdownGraceMs: number;
  readonly logLevel: string;
}

/** The minimum TLS version: as configured, else 1.3 (1.2 under `fapi`, which allows its suites). */
const tlsVersion = (t: { minVersion?: '1.2' | '1.3' | undefined; profile: TlsProfile }) =>
  ((t.minVersion ?? (t.profile === 'fapi' ? '1.2' : '1.3')) === '1.2' ? 'TLSv1.2' : 'TLSv1.3') as
    | 'TLSv1.2'
    | 'TLSv1.3';

/** Identity sources: a mesh CA needs a trust domain; every listener needs an identity and a trust. */
function identityChecks(c: SidecarConfigRaw): string[] {
  const problems: string[] = [];
  if (!c.ca && !c.identity && [...c.inbound, ...c.outbound].some((l) => !l.identity))
    problems.push(
      '  ca: set ca (the mesh CA) or identity (certificate files) for listeners without their own identity',
    );
  for (const [kind, list] of [
    ['inbound', c.inbound],
    ['outbound', c.outbound],
  ] as const) {
    list.forEach((l, i) => {
      if (!c.ca && !c.trust && !l.trust)
        problems.push(`  ${kind}.${i}.trust: required without ca (no mesh bundle to verify peers with)`);
    });
  }
  c.outbound.forEach((o, i) => {
    const ways = [o.serverId, o.serverName ?? o.serverSpki].filter(Boolean).length;
    if (ways !== 1)
      problems.push(`  outbound.${i}: set exactly one of serverId, or serverName and/or serverSpki`);
  });
  return problems;
}

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
    if (!Array.isArray(l.allow)) return;
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
  c.inbound.forEach((l, i) => {
    if (!Array.isArray(l.allow) && l.allow.paths.length > 0 && l.protocol === 'tcp')
      problems.push(
        `  inbound.${i}.allow.paths: path rules need protocol: http (listener "${l.name}" is tcp)`,
      );
  });
  c.outbound.forEach((o, i) => {
    const { host } = splitHostPort(o.listen);
    const loopback = (net.isIPv4(host) && host.startsWith('127.')) || host === '::1' || host === 'localhost';
    if (!loopback) {
      problems.push(
        `  outbound.${i}.listen: ${o.listen} must be a loopback address (outbound listeners are plaintext)`,
      );
    }
  });
  return [...problems, ...identityChecks(c)];
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
    ca: c.ca && {
      address: c.ca.address,
      bundleFile: c.ca.bundleFile,
      rootFingerprint: c.ca.rootFingerprint?.toLowerCase(),
      joinTokenFile: c.ca.joinTokenFile,
      kubernetesTokenFile: c.ca.kubernetesTokenFile,
      ttlSeconds: Math.round(ms(c.ca.ttl) / 1000),
      timeoutMs: ms(c.ca.timeout),
    },
    identity: c.identity,
    trustFile: c.trust?.bundleFile,
    admin: c.admin,
    files: c.files ? { dir: c.files.dir, mode: Number.parseInt(c.files.mode, 8) } : undefined,
    inbound: c.inbound.map((l) => ({
      name: l.name,
      listen: l.listen,
      forward: l.forward,
      protocol: l.protocol,
      allow: Array.isArray(l.allow) ? l.allow : [],
      psd2Allow: Array.isArray(l.allow) ? undefined : l.allow,
      minTlsVersion: tlsVersion(l.tls),
      tlsProfile: l.tls.profile,
      identity: l.identity,
      trustFile: l.trust?.bundleFile,
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
      serverName: o.serverName,
      serverSpki: o.serverSpki?.slice('sha256:'.length),
      minTlsVersion: tlsVersion(o.tls),
      tlsProfile: o.tls.profile,
      identity: o.identity,
      trustFile: o.trust?.bundleFile,
      connectTimeoutMs: ms(o.connectTimeout),
      requestTimeoutMs: ms(o.requestTimeout),
      headerTimeoutMs: ms(o.headerTimeout),
      maxBodyBytes: o.maxBodySize,
      token: o.token && {
        ...o.token,
        scope: o.token.scope,
        caFile: o.token.caFile,
        clientId: o.token.clientId,
      },
    })),
    shutdownGraceMs: ms(c.shutdownGrace),
    logLevel: c.log.level,
  });
}
