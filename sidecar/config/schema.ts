// The sidecar config schema (design.md §6). The TypeScript type is derived from it; durations
// stay strings here and are parsed once in load.ts.
import * as z from 'zod';
import { durationString, hostPortString } from '../../common/config-schema.js';

const duration = durationString;
const hostPort = hostPortString('127.0.0.1:15001');

const spiffeIdPattern = z
  .string()
  .regex(
    /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*(\/\*)?$/,
    'expected a SPIFFE ID or a prefix ending in /*',
  );
const spiffeId = z.string().regex(/^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/, 'expected a SPIFFE ID');

const tlsSettings = z
  .object({
    // Default 1.3 ('1.2' under profile fapi); resolved in load.ts.
    minVersion: z.enum(['1.2', '1.3']).optional(),
    profile: z.enum(['mesh', 'fapi']).default('mesh'),
  })
  .strict()
  .prefault({});

/** Operator-supplied identity (e.g. an eIDAS QWAC) instead of the mesh CA's certificate. */
const identityFiles = z.union([
  z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict(),
  z.object({ p12File: z.string().min(1), passwordFile: z.string().min(1) }).strict(),
]);
/** Roots to verify peers with instead of the mesh bundle (e.g. a QTSP's roots). */
const trustSettings = z.object({ bundleFile: z.string().min(1) }).strict();

const psd2Role = z
  .string()
  .regex(/^(PSP_(AS|PI|AI|IC)|[0-9]+(\.[0-9]+)+)$/, 'expected PSP_AS, PSP_PI, PSP_AI, PSP_IC or an OID');
const psd2Rule = {
  psd2Roles: z.array(psd2Role).min(1).optional(),
  organizationIds: z.array(z.string().min(1)).min(1).optional(),
};
/** Admission by verified eIDAS/PSD2 facts rather than SPIFFE ID. */
const psd2Allow = z
  .object({
    ...psd2Rule,
    paths: z
      .array(
        z
          .object({ prefix: z.string().startsWith('/', 'expected a path starting with /'), ...psd2Rule })
          .strict(),
      )
      .default([]),
  })
  .strict();

const httpsUrl = z
  .string()
  .regex(/^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, 'expected an https:// URL without query or fragment');
const scopeToken = z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope token (RFC 6749 §3.3)');

/** Inbound token enforcement (design.md §5): who issues, for whom, which scopes, how checked. */
const inboundTokenSchema = z
  .object({
    issuer: httpsUrl,
    audience: z.string().min(1),
    scopes: z.array(scopeToken).default([]),
    mode: z.enum(['jwt', 'introspection']).default('jwt'),
    caFile: z.string().min(1).optional(),
    /** client_id for introspection; default the SPIFFE ID. */
    clientId: z.string().min(1).optional(),
    paths: z
      .array(
        z
          .object({
            prefix: z.string().startsWith('/', 'expected a path starting with /'),
            scopes: z.array(scopeToken),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** Outbound token acquisition: the AS to ask, the audience (resource) and scope to ask for. */
const outboundTokenSchema = z
  .object({
    issuer: httpsUrl,
    audience: z.string().min(1),
    scope: z
      .string()
      .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/, 'expected space-separated scopes')
      .optional(),
    caFile: z.string().min(1).optional(),
    /** client_id to send; default the SPIFFE ID (for tls_client_auth_subject_dn, the registered id). */
    clientId: z.string().min(1).optional(),
  })
  .strict();

export const inboundSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lowercase name'),
    listen: hostPort,
    forward: hostPort,
    protocol: z.enum(['tcp', 'http']).default('http'),
    allow: z.union([
      z
        .array(spiffeIdPattern)
        .min(1, 'list at least one allowed SPIFFE ID (or spiffe://<td>/* for the whole trust domain)'),
      psd2Allow,
    ]),
    tls: tlsSettings,
    identity: identityFiles.optional(),
    trust: trustSettings.optional(),
    handshakeTimeout: duration.default('10s'),
    maxConnections: z.number().int().positive().default(10_000),
    requestTimeout: duration.default('60s'),
    headerTimeout: duration.default('10s'),
    maxBodySize: z.number().int().positive().optional(),
    token: inboundTokenSchema.optional(),
  })
  .strict();

export const outboundSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'expected a lowercase name'),
    listen: hostPort,
    upstream: hostPort,
    protocol: z.enum(['tcp', 'http']).default('http'),
    serverId: spiffeId.optional(),
    serverName: z
      .string()
      .regex(
        /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/,
        'expected a DNS name',
      )
      .optional(),
    serverSpki: z
      .string()
      .regex(/^sha256:[A-Za-z0-9+/]{43}=$/, 'expected sha256:<base64 SHA-256 of the SubjectPublicKeyInfo>')
      .optional(),
    tls: tlsSettings,
    identity: identityFiles.optional(),
    trust: trustSettings.optional(),
    connectTimeout: duration.default('5s'),
    requestTimeout: duration.default('60s'),
    headerTimeout: duration.default('10s'),
    maxBodySize: z.number().int().positive().optional(),
    token: outboundTokenSchema.optional(),
  })
  .strict();

export const sidecarConfigSchema = z
  .object({
    trustDomain: z
      .string()
      .regex(/^[a-z0-9._-]+$/, 'expected a lowercase trust domain')
      .optional(),
    keyType: z.enum(['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'ed25519']).default('ecdsa-p256'),
    ca: z
      .object({
        address: hostPort,
        bundleFile: z.string().min(1).optional(),
        rootFingerprint: z
          .string()
          .regex(/^sha256:[0-9a-fA-F]{64}$/, 'expected sha256:<64 hex digits>')
          .optional(),
        joinTokenFile: z.string().min(1).optional(),
        kubernetesTokenFile: z.string().min(1).optional(),
        ttl: duration.default('1h'),
        timeout: duration.default('10s'),
      })
      .strict()
      .refine((c) => Boolean(c.bundleFile) !== Boolean(c.rootFingerprint), {
        message: 'set exactly one of ca.bundleFile or ca.rootFingerprint to trust the CA',
      })
      .optional(),
    identity: identityFiles.optional(),
    trust: trustSettings.optional(),
    admin: hostPort.default('127.0.0.1:15000'),
    files: z
      .object({
        dir: z.string().min(1),
        mode: z
          .string()
          .regex(/^0?[0-7]{3}$/, 'expected an octal mode like "0640"')
          .default('0644'),
      })
      .strict()
      .optional(),
    inbound: z.array(inboundSchema).default([]),
    outbound: z.array(outboundSchema).default([]),
    shutdownGrace: duration.default('10s'),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict()
  // Reported with the other schema problems (`when`: even if other keys are invalid).
  .refine((c) => !c.ca || Boolean(c.trustDomain), {
    path: ['trustDomain'],
    message: 'required with ca (the mesh trust domain)',
    when: (p) => typeof p.value === 'object' && p.value !== null,
  });

export type SidecarConfigRaw = z.output<typeof sidecarConfigSchema>;
