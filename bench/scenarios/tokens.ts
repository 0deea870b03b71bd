// Scenario 7: token endpoint tokens/s and inbound JWT validations/s, measured by bench/tokens.ts
// in its own process. OpenSSL's ECDSA P-256 sign/verify rates are shown as the raw cost floor.
import path from 'node:path';
import { BENCH_DIR, runLoadAt } from '../lib/procs.js';
import { fmt, type Row } from '../lib/report.js';
import type { OpensslSpeed } from './ca.js';

type Tokens = {
  endpoint: { tokens: number; perSecond: number };
  validation: { validations: number; perSecond: number };
};

export async function tokens(
  seconds: number,
  speed: OpensslSpeed,
  details: Record<string, unknown>,
): Promise<Row[]> {
  const r = await runLoadAt<Tokens>(
    path.join(BENCH_DIR, 'tokens.ts'),
    [String(seconds)],
    (seconds * 2 + 90) * 1000,
  );
  details['tokens'] = r;
  return [
    {
      scenario: '(7) Token endpoint (mTLS, 16 in flight, one client process)',
      tether: `${fmt(r.endpoint.perSecond)} tokens/s`,
      baseline: `OpenSSL ES256 sign ${fmt(speed.signPerSecond)}/s`,
      ratio: r.endpoint.perSecond / speed.signPerSecond,
      target: '— (informational)',
      pass: null,
    },
    {
      scenario: '(7) Inbound JWT validation (ES256, cached JWKS, in process)',
      tether: `${fmt(r.validation.perSecond)} validations/s`,
      baseline: `OpenSSL ES256 verify ${fmt(speed.verifyPerSecond)}/s`,
      ratio: r.validation.perSecond / speed.verifyPerSecond,
      target: '— (informational)',
      pass: null,
    },
  ];
}
