import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TetherError } from '../../common/errors.js';
import { parseWorkloadId } from '../../common/spiffe-id.js';
import { buildCsr, type CsrRequest } from '../../sidecar/identity/csr.js';
import type { Attestation } from '../attestation/attestor.js';
import { type ParsedCsr, parseCsr } from '../csr/parse-csr.js';
import { SqliteStore } from '../store/sqlite.js';
import { authorize, checkCsrShape } from './authorize.js';

const TD = 'example.org';
const ID = 'spiffe://example.org/web';
const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

let dir: string;
let store: SqliteStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tether-authorize-'));
  store = new SqliteStore(path.join(dir, 'tether.db'), { create: true });
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function attested(overrides: Partial<Attestation> = {}): Attestation {
  return {
    spiffeId: parseWorkloadId(ID),
    dnsNames: [],
    maxTtlSeconds: null,
    attestor: 'test',
    redemption: null,
    presentedSerial: null,
    ...overrides,
  };
}

function csr(req: CsrRequest = {}): ParsedCsr {
  return parseCsr(buildCsr(key, req), 16384);
}

async function refusal(p: Promise<unknown>): Promise<TetherError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TetherError);
    return err as TetherError;
  }
  throw new Error('expected authorize to refuse');
}

describe('authorize', () => {
  it('allows a CSR without SANs and returns no DNS names', async () => {
    await expect(authorize(attested(), csr(), TD, store)).resolves.toEqual([]);
  });

  it('allows a CSR whose only URI SAN is the attested ID', async () => {
    await expect(authorize(attested(), csr({ uris: [ID] }), TD, store)).resolves.toEqual([]);
  });

  it('refuses an identity whose SPIFFE ID is on the deny list', async () => {
    await store.addDeny({ kind: 'spiffe_id', value: ID, reason: 'compromised', createdAt: 1 });
    const err = await refusal(authorize(attested(), csr(), TD, store));
    expect(err.code).toBe('ERR_IDENTITY_DENIED');
    expect(err.message).toContain(`identity ${ID}`);
  });

  it('refuses a renewal whose presented serial is on the deny list', async () => {
    await store.addDeny({ kind: 'serial', value: '7f0a11', reason: 'lost laptop', createdAt: 1 });
    const err = await refusal(authorize(attested({ presentedSerial: '7f0a11' }), csr(), TD, store));
    expect(err.code).toBe('ERR_IDENTITY_DENIED');
    expect(err.message).toContain('serial 7f0a11');
  });

  it('allows a renewal whose serial is not the denied one', async () => {
    await store.addDeny({ kind: 'serial', value: '7f0a11', reason: 'lost laptop', createdAt: 1 });
    await expect(authorize(attested({ presentedSerial: '7f0a12' }), csr(), TD, store)).resolves.toEqual([]);
  });

  it('does not deny an ID because another ID is denied', async () => {
    await store.addDeny({
      kind: 'spiffe_id',
      value: 'spiffe://example.org/other',
      reason: 'x',
      createdAt: 1,
    });
    await expect(authorize(attested(), csr(), TD, store)).resolves.toEqual([]);
  });

  it('refuses a CSR asking for a URI SAN other than the attested identity', async () => {
    const err = await refusal(
      authorize(attested(), csr({ uris: ['spiffe://example.org/admin'] }), TD, store),
    );
    expect(err.code).toBe('ERR_CSR_IDENTITY_MISMATCH');
    expect(err.message).toContain('spiffe://example.org/admin');
  });

  it('refuses a CSR with two URI SANs even if one is the attested identity', async () => {
    const err = await refusal(
      authorize(attested(), csr({ uris: [ID, 'spiffe://example.org/admin'] }), TD, store),
    );
    expect(err.code).toBe('ERR_CSR_IDENTITY_MISMATCH');
  });

  it('refuses a CSR repeating the attested URI SAN twice', async () => {
    const err = await refusal(authorize(attested(), csr({ uris: [ID, ID] }), TD, store));
    expect(err.code).toBe('ERR_CSR_IDENTITY_MISMATCH');
  });

  it('refuses DNS names the registration does not allow', async () => {
    const err = await refusal(
      authorize(
        attested({ dnsNames: ['web.example.org'] }),
        csr({ dnsNames: ['web.example.org', 'evil.com'] }),
        TD,
        store,
      ),
    );
    expect(err.code).toBe('ERR_CSR_DNS_NOT_ALLOWED');
    expect(err.message).toContain('evil.com');
    expect(err.message).not.toContain('web.example.org,');
  });

  it('refuses any DNS name when the registration allows none', async () => {
    const err = await refusal(authorize(attested(), csr({ dnsNames: ['web.example.org'] }), TD, store));
    expect(err.code).toBe('ERR_CSR_DNS_NOT_ALLOWED');
  });

  it('refuses IP address SANs', async () => {
    const withIp: ParsedCsr = { ...csr(), requestedIpAddresses: ['10.0.0.1'] };
    const err = await refusal(authorize(attested(), withIp, TD, store));
    expect(err.code).toBe('ERR_CSR_DNS_NOT_ALLOWED');
    expect(err.message).toMatch(/IP address/);
  });

  it('refuses an identity from another trust domain', async () => {
    const other = attested({ spiffeId: parseWorkloadId('spiffe://other.org/web') });
    const err = await refusal(authorize(other, csr(), TD, store));
    expect(err.code).toBe('ERR_TRUST_DOMAIN_MISMATCH');
  });

  it('refuses a trust domain that only shares a suffix', async () => {
    const other = attested({ spiffeId: parseWorkloadId('spiffe://evil-example.org/web') });
    expect((await refusal(authorize(other, csr(), TD, store))).code).toBe('ERR_TRUST_DOMAIN_MISMATCH');
  });

  it('returns the allowed DNS names lowercased and without duplicates', async () => {
    const a = attested({ dnsNames: ['Web.Example.org', 'api.example.org'] });
    const names = await authorize(
      a,
      csr({ dnsNames: ['WEB.example.ORG', 'web.example.org', 'api.example.org'] }),
      TD,
      store,
    );
    expect(names).toEqual(['web.example.org', 'api.example.org']);
  });

  it('returns only the requested subset of the allowed DNS names', async () => {
    const a = attested({ dnsNames: ['web.example.org', 'api.example.org'] });
    await expect(authorize(a, csr({ dnsNames: ['api.example.org'] }), TD, store)).resolves.toEqual([
      'api.example.org',
    ]);
  });
});

describe('checkCsrShape', () => {
  it('refuses a CSR asking for CA:true with ERR_CSR_CA_REQUESTED', () => {
    let caught: unknown;
    try {
      checkCsrShape(csr({ requestCa: true }));
    } catch (err) {
      caught = err;
    }
    expect((caught as TetherError).code).toBe('ERR_CSR_CA_REQUESTED');
  });

  it('lets an ordinary CSR through', () => {
    expect(() => checkCsrShape(csr({ uris: [ID] }))).not.toThrow();
  });
});
