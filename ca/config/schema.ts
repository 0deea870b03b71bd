// The CA config schema (YAML file + flags). The TypeScript type is derived from it; durations
// stay strings here and are parsed once in load.ts.
import { z } from 'zod';
import { durationString, hostPortString } from '../../common/config-schema.js';

const duration = durationString;
const hostPort = hostPortString('127.0.0.1:8443');
const positiveInt = z.number().int().positive();

/** RFC 6749 §3.3 scope-token: printable ASCII except space, '"' and '\\'. */
export const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
/** An exact SPIFFE ID or a prefix ending in `/*` (checked in full by ca/oauth/policy.ts). */
const clientPattern = z
  .string()
  .regex(/^spiffe:\/\/[^*]+(\/\*)?$/, 'expected a SPIFFE ID or a prefix ending in /*');

const oauthPolicy = z
  .object({
    clients: z.array(clientPattern).min(1),
    audience: z.string().min(1),
    scopes: z.array(z.string().regex(SCOPE_TOKEN, 'expected an RFC 6749 scope token')).default([]),
  })
  .strict();

const namespaceName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a namespace name');

/** Kubernetes attestation, the injection webhook and the trust-bundle ConfigMap (docs/kubernetes.md). */
const kubernetesSchema = z
  .object({
    issuer: z.url({ protocol: /^https$/ }).optional(),
    jwksFile: z.string().min(1).optional(),
    issuerCaFile: z.string().min(1).optional(),
    tokenReview: z.boolean().default(false),
    audience: z.string().min(1).default('tether-ca'),
    allowNamespaces: z.array(namespaceName).default([]),
    publishBundle: z.boolean().default(false),
    injector: z
      .object({
        listen: hostPortString('0.0.0.0:8445').optional(),
        image: z.string().min(1).default('tether:latest'),
        caAddress: hostPortString('tether-ca.tether-system.svc:8443').default(
          'tether-ca.tether-system.svc:8443',
        ),
        nativeSidecar: z.boolean().default(true),
        webhookConfiguration: z.string().min(1).default('tether-injector'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});

export const caConfigSchema = z
  .object({
    dataDir: z.string().min(1),
    listen: hostPort.default('127.0.0.1:8443'),
    metricsListen: hostPort.default('127.0.0.1:9090'),
    dnsNames: z.array(z.string().regex(/^[A-Za-z0-9*.-]+$/, 'expected a DNS name')).default([]),
    ttl: z
      .object({
        default: duration.default('1h'),
        max: duration.default('24h'),
        serving: duration.default('24h'),
      })
      .strict()
      .prefault({}),
    rotation: z
      .object({
        intermediateTtl: duration.default('7d'),
        rootTtl: duration.default('3650d'),
        rootPropagation: duration.default('1h'),
        checkInterval: duration.default('1s'),
      })
      .strict()
      .prefault({}),
    limits: z
      .object({
        csrPerSecond: positiveInt.default(5000),
        csrBurst: positiveInt.default(10000),
        failures: z
          .object({
            max: positiveInt.default(100),
            window: duration.default('60s'),
            block: duration.default('5m'),
          })
          .strict()
          .prefault({}),
        maxCsrBytes: positiveInt.default(16384),
        maxMessageBytes: positiveInt.default(65536),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({ passphraseEnv: z.string().optional(), passphraseFile: z.string().optional() })
      .strict()
      .prefault({}),
    oauth: z
      .object({
        listen: hostPortString('127.0.0.1:8444').optional(),
        issuer: z.url({ protocol: /^https$/ }).optional(),
        tokenTtl: duration.default('15m'),
        signingKeyTtl: duration.default('24h'),
        policies: z.array(oauthPolicy).default([]),
      })
      .strict()
      .prefault({}),
    kubernetes: kubernetesSchema,
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();

export type CaConfigInput = z.input<typeof caConfigSchema>;
export type CaConfigRaw = z.output<typeof caConfigSchema>;
