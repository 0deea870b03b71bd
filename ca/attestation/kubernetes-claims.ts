// The Kubernetes-specific claims of a projected service-account token (namespace, service account,
// bound pod), and the shape checks that tell a legacy secret-based token from a projected one.
import { TetherError } from '../../common/errors.js';

/** Who a verified token says the caller is. */
export interface KubernetesIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** The pod the token is bound to (projected tokens always are). */
  readonly podName: string;
  readonly podUid: string;
}

/** `iss` of the non-expiring tokens Kubernetes stored in Secrets before projected tokens. */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';

/** DNS-1123 label: the shape of namespace names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** DNS-1123 subdomain: the shape of service-account and pod names. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function invalid(message: string): TetherError {
  return new TetherError('ERR_CREDENTIAL_INVALID', `Kubernetes token refused: ${message}`);
}

/**
 * Refuses legacy secret-based tokens before any other check, with a message that says what to
 * use instead: they never expire and are not bound to a pod or an audience.
 */
export function refuseLegacyToken(payload: Record<string, unknown>): void {
  const legacy =
    payload['iss'] === LEGACY_ISSUER ||
    'kubernetes.io/serviceaccount/namespace' in payload ||
    payload['exp'] === undefined;
  if (legacy) {
    throw invalid(
      'legacy (secret-based, non-expiring) service-account tokens are not accepted; mount a projected ' +
        'token with audience tether-ca and an expiry (serviceAccountToken volume source)',
    );
  }
}

function objectAt(o: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof o !== 'object' || o === null) return undefined;
  const v = (o as Record<string, unknown>)[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function stringAt(o: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Reads and checks the `kubernetes.io` claim of a verified projected token. */
export function readKubernetesClaims(payload: Record<string, unknown>): KubernetesIdentity {
  const k = objectAt(payload, 'kubernetes.io');
  if (!k) throw invalid('it has no kubernetes.io claim (not a service-account token)');
  const namespace = stringAt(k, 'namespace');
  const serviceAccount = stringAt(objectAt(k, 'serviceaccount'), 'name');
  const pod = objectAt(k, 'pod');
  const podName = stringAt(pod, 'name');
  const podUid = stringAt(pod, 'uid');
  if (!namespace || !DNS_LABEL.test(namespace))
    throw invalid('kubernetes.io.namespace is missing or malformed');
  if (!serviceAccount || !DNS_SUBDOMAIN.test(serviceAccount))
    throw invalid('kubernetes.io.serviceaccount.name is missing or malformed');
  if (!podName || !podUid)
    throw invalid('the token is not bound to a pod (kubernetes.io.pod); use a projected token of the pod');
  const sub = `system:serviceaccount:${namespace}:${serviceAccount}`;
  if (payload['sub'] !== sub) throw invalid(`sub does not match the kubernetes.io claims (expected ${sub})`);
  return { namespace, serviceAccount, podName, podUid };
}

/** Parses TokenReview's `system:serviceaccount:<ns>:<sa>` user name. */
export function parseServiceAccountUser(username: string): { namespace: string; serviceAccount: string } {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (!m || !DNS_LABEL.test(m[1]!) || !DNS_SUBDOMAIN.test(m[2]!))
    throw invalid(`the token belongs to ${username || 'nobody'}, not a service account`);
  return { namespace: m[1]!, serviceAccount: m[2]! };
}
