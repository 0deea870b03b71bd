// The pod annotations (and labels) the injector reads, and their parsing into a sidecar plan.
// Each bad value is refused with a message naming the annotation and the expected shape.
import { TetherError } from '../../common/errors.js';

export const ANNOTATION = {
  inject: 'tether.io/inject',
  status: 'tether.io/status',
  sidecarConfig: 'tether.io/sidecar-config',
  inbound: 'tether.io/inbound',
  inboundAllow: 'tether.io/inbound-allow',
  outbound: 'tether.io/outbound',
  tokenIssuer: 'tether.io/token-issuer',
  inboundTokenAudience: 'tether.io/inbound-token-audience',
  inboundTokenScopes: 'tether.io/inbound-token-scopes',
  outboundToken: 'tether.io/outbound-token',
} as const;

export interface InboundPlan {
  readonly appPort: number;
  readonly protocol: 'http' | 'tcp';
}

export interface OutboundPlan {
  readonly name: string;
  readonly upstream: string;
  readonly serverId: string;
  /** Scopes to ask for (space-separated), when this outbound sends tokens. */
  readonly tokenScope: string | null;
}

export interface SidecarPlan {
  readonly inbound: readonly InboundPlan[];
  readonly allow: readonly string[];
  readonly outbound: readonly OutboundPlan[];
  readonly tokenIssuer: string | null;
  readonly inboundToken: { readonly audience: string; readonly scopes: readonly string[] } | null;
}

type Annotations = Readonly<Record<string, string>>;

function bad(key: string, value: string, expected: string): TetherError {
  return new TetherError(
    'ERR_ADMISSION_INVALID',
    `annotation ${key}: ${JSON.stringify(value)} — expected ${expected}`,
  );
}

function list(value: string | undefined, sep = ','): string[] {
  return (value ?? '')
    .split(sep)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

const PORT = /^([0-9]{1,5})(?:\/(http|tcp))?$/;
const SPIFFE_ID = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/;
const SPIFFE_PATTERN = /^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*(\/\*)?$/;
const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$/;
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;
const HTTPS_URL = /^https:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;

function parseInbound(a: Annotations): InboundPlan[] {
  const key = ANNOTATION.inbound;
  return list(a[key]).map((item) => {
    const m = PORT.exec(item);
    const port = Number(m?.[1]);
    if (!m || port < 1 || port > 65535) throw bad(key, a[key]!, 'ports like "8080" or "8080,9000/tcp"');
    return { appPort: port, protocol: (m[2] ?? 'http') as 'http' | 'tcp' };
  });
}

function parseOutbound(a: Annotations): OutboundPlan[] {
  const key = ANNOTATION.outbound;
  const scopes = parseOutboundTokens(a);
  const plans = list(a[key]).map((item) => {
    const m = /^([^=]+)=([^@]+)@(.+)$/.exec(item);
    const [name, upstream, serverId] = [m?.[1]?.trim() ?? '', m?.[2]?.trim() ?? '', m?.[3]?.trim() ?? ''];
    if (!m || !NAME.test(name) || !HOST_PORT.test(upstream) || !SPIFFE_ID.test(serverId))
      throw bad(
        key,
        a[key]!,
        'entries like "orders=orders.shop:15006@spiffe://example.org/ns/shop/sa/orders"',
      );
    return { name, upstream, serverId, tokenScope: scopes.get(name) ?? null };
  });
  const names = plans.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw bad(key, a[key]!, `unique names ("${dup}" appears twice)`);
  for (const name of scopes.keys())
    if (!names.includes(name))
      throw bad(ANNOTATION.outboundToken, a[ANNOTATION.outboundToken]!, `names from ${key}`);
  return plans;
}

/** `tether.io/outbound-token: "orders=read:orders write:orders; billing="` → name → scope. */
function parseOutboundTokens(a: Annotations): Map<string, string> {
  const key = ANNOTATION.outboundToken;
  const out = new Map<string, string>();
  for (const item of list(a[key], ';')) {
    const m = /^([^=]+)=(.*)$/.exec(item);
    const name = m?.[1]?.trim() ?? '';
    const scopes = list(m?.[2], ' ');
    if (!m || !NAME.test(name) || !scopes.every((s) => SCOPE.test(s)))
      throw bad(key, a[key]!, 'entries like "orders=read:orders write:orders; billing="');
    out.set(name, scopes.join(' '));
  }
  return out;
}

function parseTokens(
  a: Annotations,
  hasOutboundTokens: boolean,
): Pick<SidecarPlan, 'tokenIssuer' | 'inboundToken'> {
  const issuer = a[ANNOTATION.tokenIssuer]?.trim() || null;
  if (issuer && !HTTPS_URL.test(issuer)) throw bad(ANNOTATION.tokenIssuer, issuer, 'an https:// URL');
  const audience = a[ANNOTATION.inboundTokenAudience]?.trim() || null;
  const scopes = list(a[ANNOTATION.inboundTokenScopes], ' ');
  if (!scopes.every((s) => SCOPE.test(s)))
    throw bad(
      ANNOTATION.inboundTokenScopes,
      a[ANNOTATION.inboundTokenScopes]!,
      'space-separated scope tokens',
    );
  if ((audience || hasOutboundTokens) && !issuer)
    throw bad(ANNOTATION.tokenIssuer, '', 'an https:// URL when tokens are required or requested');
  return { tokenIssuer: issuer, inboundToken: audience ? { audience, scopes } : null };
}

/** Reads the pod's annotations into what the sidecar should do. */
export function planSidecar(a: Annotations, trustDomain: string): SidecarPlan {
  const inbound = parseInbound(a);
  const outbound = parseOutbound(a);
  const allowRaw = list(a[ANNOTATION.inboundAllow]);
  for (const id of allowRaw)
    if (!SPIFFE_PATTERN.test(id) || !id.startsWith(`spiffe://${trustDomain}/`))
      throw bad(
        ANNOTATION.inboundAllow,
        a[ANNOTATION.inboundAllow]!,
        `SPIFFE IDs or prefixes/* in spiffe://${trustDomain}/`,
      );
  const tokens = parseTokens(
    a,
    outbound.some((o) => o.tokenScope !== null),
  );
  if (tokens.inboundToken && inbound.some((i) => i.protocol === 'tcp'))
    throw bad(
      ANNOTATION.inboundTokenAudience,
      tokens.inboundToken.audience,
      'only http inbound ports with tokens',
    );
  return {
    inbound,
    allow: allowRaw.length > 0 ? allowRaw : [`spiffe://${trustDomain}/*`],
    outbound,
    ...tokens,
  };
}
