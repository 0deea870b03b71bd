import { describe, expect, it } from 'vitest';
import type { CaStatus } from './status.js';
import { escapeHtml, lifetimeBar, renderStatusPage } from './status-page.js';

const NOW = '2030-01-01T12:00:00.000Z';

function status(over: Partial<CaStatus> = {}): CaStatus {
  return {
    now: NOW,
    trustDomain: 'example.org',
    bundleSequence: 3,
    generations: [
      {
        id: 'root-1',
        kind: 'root',
        state: 'active',
        sha256: 'a'.repeat(64),
        notBefore: '2029-01-01T00:00:00.000Z',
        notAfter: '2039-01-01T00:00:00.000Z',
        parentId: null,
      },
      {
        id: 'int-1',
        kind: 'intermediate',
        state: 'active',
        sha256: 'b'.repeat(64),
        notBefore: '2030-01-01T00:00:00.000Z',
        notAfter: '2030-01-02T00:00:00.000Z',
        parentId: 'root-1',
        prepareAt: '2030-01-01T12:00:00.000Z',
        activateAt: '2030-01-01T20:00:00.000Z',
      },
    ],
    issued: { total: 2, active: 2 },
    identities: [
      {
        spiffeId: 'spiffe://example.org/ns/shop/sa/web',
        serial: '0123abcd',
        notAfter: '2030-01-01T13:00:00.000Z',
        expiresInSeconds: 3600,
        attestor: 'join_token',
        issuedAt: NOW,
      },
    ],
    identitiesTruncated: false,
    activity: [
      {
        at: NOW,
        outcome: 'refused',
        spiffeId: null,
        peer: '<img src=x onerror=alert(1)>:1',
        attestor: 'join_token',
        serial: null,
        notAfter: null,
        code: 'ERR_CREDENTIAL_INVALID',
        message: '<script>alert("x")</script> & more',
      },
    ],
    blocked: [{ kind: 'source', value: '10.0.0.1', until: NOW }],
    ...over,
  };
}

describe('renderStatusPage', () => {
  it('escapes a refusal message and peer instead of emitting markup', () => {
    const html = renderStatusPage(status());
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;:1');
  });

  it('shows trust domain, fingerprints, identities, refusal code and blocked sources', () => {
    const html = renderStatusPage(status());
    for (const text of [
      'example.org',
      'a'.repeat(64),
      'b'.repeat(64),
      'spiffe://example.org/ns/shop/sa/web',
      '0123abcd',
      'ERR_CREDENTIAL_INVALID',
      '10.0.0.1',
    ]) {
      expect(html).toContain(text);
    }
  });

  it('loads nothing but its own stylesheet and icon, and runs no script', () => {
    const html = renderStatusPage(status());
    expect(html).not.toMatch(/<script|style=|https?:\/\//i);
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
  });

  it('says when there is nothing to show', () => {
    const html = renderStatusPage(status({ identities: [], activity: [], blocked: [] }));
    expect(html).toContain('No workload certificates issued yet.');
    expect(html).toContain('No source is blocked.');
  });
});

describe('lifetimeBar', () => {
  it('marks now, prepare (½) and activate (⅚) along the certificate life', () => {
    const bar = lifetimeBar(status().generations[1]!, NOW);
    expect(bar).toContain('class="elapsed" x="0" y="2" width="50.00"');
    expect(bar).toContain('class="prepare" x1="50.00"');
    expect(bar).toContain('class="activate" x1="83.33"');
    expect(bar).toContain('class="now" x1="50.00"');
  });

  it('clamps now to the bar once the certificate has expired', () => {
    expect(lifetimeBar(status().generations[1]!, '2031-01-01T00:00:00.000Z')).toContain(
      'class="now" x1="100.00"',
    );
  });
});

describe('escapeHtml', () => {
  it('escapes the five HTML-significant characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
