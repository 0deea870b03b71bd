// The CA's status page data (/status.json, /) and `tether ca status` against a real CA process
// after real issuances and a refusal.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaStatus } from '../../ca/ops/status.js';
import { fromPem } from '../../common/pem.js';
import { serialHex } from '../../common/x509.js';
import { tetherOk } from '../helpers/ca-process.js';
import { ORDERS, type StatusScenario, startStatusScenario, WEB } from '../helpers/status-scenario.js';

let s: StatusScenario;
const page = (p: string) => fetch(`http://127.0.0.1:${s.ca.metricsPort}${p}`);

beforeAll(async () => {
  s = await startStatusScenario();
});

afterAll(async () => {
  await s?.stop();
});

describe('/status.json', () => {
  it('lists both identities with their latest certificate', async () => {
    const status = (await (await page('/status.json')).json()) as CaStatus;
    expect(status.trustDomain).toBe('example.org');
    const byId = new Map(status.identities.map((i) => [i.spiffeId, i]));
    expect([...byId.keys()].sort()).toEqual([ORDERS, WEB]);
    expect(byId.get(WEB)!.serial).toBe(serialHex(s.web.leaf));
    expect(byId.get(ORDERS)!.serial).toBe(serialHex(s.orders.leaf));
    expect(byId.get(WEB)!.expiresInSeconds).toBeGreaterThan(3000);
  });

  it('shows the issuances and the refusal with its code and reason, newest first', async () => {
    const status = (await (await page('/status.json')).json()) as CaStatus;
    const activity = status.activity ?? [];
    expect(activity.map((e) => e.outcome)).toEqual(['refused', 'issued', 'issued']);
    expect(activity[0]).toMatchObject({
      code: 'ERR_CREDENTIAL_INVALID',
      message: expect.stringContaining('join token'),
      peer: expect.stringMatching(/^(ipv4:)?127\.0\.0\.1:\d+$/),
    });
    expect(activity.slice(1).map((e) => e.spiffeId)).toEqual([ORDERS, WEB]);
    expect(status.blocked).toEqual([]);
  });

  it('lists the root and the intermediate with SHA-256 fingerprints of their DER', async () => {
    const status = (await (await page('/status.json')).json()) as CaStatus;
    const rootSha = createHash('sha256').update(fromPem(s.ca.bundlePem)[0]!).digest('hex');
    expect(status.generations.find((g) => g.kind === 'root')?.sha256).toBe(rootSha);
    const intermediate = status.generations.find((g) => g.kind === 'intermediate')!;
    expect(intermediate.sha256).toBe(createHash('sha256').update(s.web.response.certChain[1]!).digest('hex'));
    expect(Date.parse(intermediate.prepareAt!)).toBeLessThan(Date.parse(intermediate.activateAt!));
  });
});

describe('the status page', () => {
  it('is HTML with a strict CSP and nosniff, and shows no secrets', async () => {
    const res = await page('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    expect(html).toContain(WEB);
    expect(html).toContain('ERR_CREDENTIAL_INVALID');
    for (const token of s.tokens) {
      expect(html).not.toContain(token);
      expect(html).not.toContain(createHash('sha256').update(token).digest('hex').slice(0, 16));
    }
    expect(html).not.toContain('PRIVATE KEY');
    const json = await (await page('/status.json')).text();
    for (const token of s.tokens) expect(json).not.toContain(token);
    expect(json).not.toContain('PRIVATE KEY');
  });

  it('serves its stylesheet locally and refuses writes', async () => {
    const css = await page('/status.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect((await page('/nothing-here')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${s.ca.metricsPort}/`, { method: 'POST' })).status).toBe(405);
  });
});

describe('tether ca status', () => {
  it('prints both identities, fingerprints and counts as a table', async () => {
    const text = await tetherOk(['ca', 'status', '--data-dir', s.dataDir]);
    expect(text).toContain('trust domain:     example.org');
    expect(text).toContain(WEB);
    expect(text).toContain(ORDERS);
    expect(text).toContain(serialHex(s.web.leaf));
    expect(text).toContain(createHash('sha256').update(fromPem(s.ca.bundlePem)[0]!).digest('hex'));
    expect(text).toMatch(/certificates:\s+\d+ issued/);
  });

  it('keeps the JSON fields and adds the identities', async () => {
    const report = JSON.parse(await tetherOk(['ca', 'status', '--data-dir', s.dataDir, '--json']));
    expect(Object.keys(report)).toEqual(
      expect.arrayContaining(['trustDomain', 'bundleSequence', 'generations', 'issued', 'identities']),
    );
    expect(Object.keys(report.generations[0])).toEqual(
      expect.arrayContaining(['id', 'kind', 'state', 'sha256', 'notBefore', 'notAfter', 'parentId']),
    );
    expect(report.identities.map((i: { spiffeId: string }) => i.spiffeId).sort()).toEqual([ORDERS, WEB]);
  });
});
