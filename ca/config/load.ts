// Loads the CA config: YAML file (optional), then flags on top, validated as a whole so every
// problem is reported at once with the key, the bad value and what was expected.
import { type ConfigObject, readYamlFile, setPath, validateConfig } from '../../common/config-file.js';
import { parseDurationMs, parseDurationSeconds } from '../../common/duration.js';
import { TetherError } from '../../common/errors.js';
import { caConfigSchema } from './schema.js';

/** The validated, parsed, frozen CA configuration. */
export interface CaConfig {
  readonly dataDir: string;
  readonly listen: string;
  readonly metricsListen: string;
  readonly dnsNames: readonly string[];
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly servingTtlSeconds: number;
  readonly intermediateTtlSeconds: number;
  readonly rootTtlSeconds: number;
  readonly rootPropagationSeconds: number;
  readonly checkIntervalMs: number;
  readonly csrPerSecond: number;
  readonly csrBurst: number;
  readonly failures: { readonly max: number; readonly windowMs: number; readonly blockMs: number };
  readonly maxCsrBytes: number;
  readonly maxMessageBytes: number;
  readonly passphraseEnv: string | undefined;
  readonly passphraseFile: string | undefined;
  readonly logLevel: string;
  readonly oauth: OAuthConfig;
  readonly kubernetes: KubernetesConfig;
}

/** Kubernetes attestation, injection webhook and bundle publishing (docs/kubernetes.md). */
export interface KubernetesConfig {
  /** Expected `iss` of service-account tokens; enables offline verification. */
  readonly issuer: string | undefined;
  readonly jwksFile: string | undefined;
  readonly issuerCaFile: string | undefined;
  /** Verify tokens with the TokenReview API instead (in cluster). */
  readonly tokenReview: boolean;
  readonly audience: string;
  readonly allowNamespaces: readonly string[];
  readonly publishBundle: boolean;
  readonly injector: {
    readonly listen: string | undefined;
    readonly image: string;
    readonly caAddress: string;
    readonly nativeSidecar: boolean;
    /** MutatingWebhookConfiguration whose caBundle the CA keeps current (with publishBundle). */
    readonly webhookConfiguration: string;
  };
}

/** One scope policy rule (design.md §5). */
export interface OAuthPolicyRule {
  readonly clients: readonly string[];
  readonly audience: string;
  readonly scopes: readonly string[];
}

export interface OAuthConfig {
  /** host:port of the token endpoint, or undefined when it is off. */
  readonly listen: string | undefined;
  readonly issuer: string | undefined;
  readonly tokenTtlSeconds: number;
  readonly signingKeyTtlSeconds: number;
  readonly policies: readonly OAuthPolicyRule[];
}

/**
 * Builds the config from an optional YAML file and flag overrides given as dotted keys
 * (`{ 'ttl.default': '30m' }`). Throws ERR_CONFIG_INVALID listing every problem.
 */
export function loadCaConfig(file: string | undefined, overrides: Record<string, unknown>): CaConfig {
  const raw: ConfigObject = file ? readYamlFile(file) : {};
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) setPath(raw, key, value);
  const c = validateConfig(caConfigSchema, raw, 'CA configuration', file);
  const seconds = parseDurationSeconds;
  const config: CaConfig = {
    dataDir: c.dataDir,
    listen: c.listen,
    metricsListen: c.metricsListen,
    dnsNames: c.dnsNames,
    defaultTtlSeconds: seconds(c.ttl.default),
    maxTtlSeconds: seconds(c.ttl.max),
    servingTtlSeconds: seconds(c.ttl.serving),
    intermediateTtlSeconds: seconds(c.rotation.intermediateTtl),
    rootTtlSeconds: seconds(c.rotation.rootTtl),
    rootPropagationSeconds: seconds(c.rotation.rootPropagation),
    checkIntervalMs: Math.max(100, parseDurationMs(c.rotation.checkInterval)),
    csrPerSecond: c.limits.csrPerSecond,
    csrBurst: c.limits.csrBurst,
    failures: {
      max: c.limits.failures.max,
      windowMs: seconds(c.limits.failures.window) * 1000,
      blockMs: seconds(c.limits.failures.block) * 1000,
    },
    maxCsrBytes: c.limits.maxCsrBytes,
    maxMessageBytes: c.limits.maxMessageBytes,
    passphraseEnv: c.keys.passphraseEnv,
    passphraseFile: c.keys.passphraseFile,
    logLevel: c.log.level,
    oauth: {
      listen: c.oauth.listen,
      issuer: c.oauth.issuer?.replace(/\/+$/, ''),
      tokenTtlSeconds: seconds(c.oauth.tokenTtl),
      signingKeyTtlSeconds: seconds(c.oauth.signingKeyTtl),
      policies: c.oauth.policies,
    },
    kubernetes: {
      ...c.kubernetes,
      issuer: c.kubernetes.issuer?.replace(/\/+$/, ''),
      jwksFile: c.kubernetes.jwksFile,
      issuerCaFile: c.kubernetes.issuerCaFile,
      injector: { ...c.kubernetes.injector, listen: c.kubernetes.injector.listen },
    },
  };
  return Object.freeze(checkConsistency(config));
}

function checkConsistency(c: CaConfig): CaConfig {
  const problems: string[] = [];
  if (c.defaultTtlSeconds < 10)
    problems.push(`  ttl.default: must be at least 10s; got ${c.defaultTtlSeconds}s`);
  if (c.maxTtlSeconds < c.defaultTtlSeconds) problems.push('  ttl.max: must not be shorter than ttl.default');
  if (c.intermediateTtlSeconds < 10) problems.push('  rotation.intermediateTtl: must be at least 10s');
  if (c.rootTtlSeconds <= c.intermediateTtlSeconds)
    problems.push('  rotation.rootTtl: must be longer than rotation.intermediateTtl');
  if (c.oauth.tokenTtlSeconds < 10) problems.push('  oauth.tokenTtl: must be at least 10s');
  if (c.oauth.signingKeyTtlSeconds < 60) problems.push('  oauth.signingKeyTtl: must be at least 60s');
  if (c.kubernetes.jwksFile && !c.kubernetes.issuer)
    problems.push(
      '  kubernetes.jwksFile: needs kubernetes.issuer (--k8s-issuer), the `iss` tokens must carry',
    );
  if (problems.length > 0)
    throw new TetherError('ERR_CONFIG_INVALID', `invalid CA configuration:\n${problems.join('\n')}`);
  return c;
}
