import { describe, expect, it } from 'vitest';
import type { CertificateFacts } from './certificate-facts.js';
import { checkRule, ruleFor } from './psd2-allow.js';

const facts = (roles: string[], organizationId?: string): CertificateFacts => ({
  organizationId,
  qcCompliance: true,
  qcTypes: ['web'],
  psd2Roles: roles,
  ncaName: 'FCA',
  ncaId: 'GB-FCA',
});

describe('checkRule', () => {
  it('admits a peer holding any one of the required roles', () => {
    expect(
      checkRule({ psd2Roles: ['PSP_AI', 'PSP_IC'] }, facts(['PSP_PI', 'PSP_IC'], 'PSDGB-FCA-1')),
    ).toBeNull();
  });

  it('refuses a peer lacking every required role, naming what it holds and what is needed', () => {
    expect(checkRule({ psd2Roles: ['PSP_AI'] }, facts(['PSP_PI'], 'PSDGB-FCA-2'))).toEqual({
      reason: 'psd2_role_not_allowed',
      description: 'PSDGB-FCA-2 holds PSP_PI; this resource requires one of PSP_AI',
    });
  });

  it('refuses a peer without a PSD2 statement when a role is required', () => {
    expect(checkRule({ psd2Roles: ['PSP_AI'] }, facts([]))?.description).toBe(
      'a peer without organizationIdentifier holds no PSD2 role; this resource requires one of PSP_AI',
    );
  });

  it('refuses an organization that is not listed, and one with no organizationIdentifier', () => {
    const rule = { organizationIds: ['PSDGB-FCA-1'] };
    expect(checkRule(rule, facts(['PSP_AI'], 'PSDGB-FCA-1'))).toBeNull();
    expect(checkRule(rule, facts(['PSP_AI'], 'PSDGB-FCA-9'))?.reason).toBe('organization_not_allowed');
    expect(checkRule(rule, facts(['PSP_AI']))?.reason).toBe('organization_not_allowed');
  });
});

describe('ruleFor', () => {
  const cfg = {
    psd2Roles: ['PSP_AI'],
    paths: [
      { prefix: '/payments', psd2Roles: ['PSP_PI'] },
      { prefix: '/payments/bulk', organizationIds: ['PSDGB-FCA-1'] },
    ],
  };

  it('uses the longest matching path prefix, else the listener rule', () => {
    expect(ruleFor(cfg, '/payments/bulk/1')).toEqual(cfg.paths[1]);
    expect(ruleFor(cfg, '/payments/1')).toEqual(cfg.paths[0]);
    expect(ruleFor(cfg, '/accounts')).toBe(cfg);
  });

  it('matches whole segments after resolving dot segments, so /paymentsx and /payments/../accounts are not under /payments', () => {
    expect(ruleFor(cfg, '/paymentsx')).toBe(cfg);
    expect(ruleFor(cfg, '/payments/%2e%2e/accounts?x=1')).toBe(cfg);
    expect(ruleFor(cfg, '/accounts/../payments/1')).toEqual(cfg.paths[0]);
  });
});
