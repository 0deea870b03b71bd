// Property tests for XFCC and header hygiene: whatever headers a client sends, hop-by-hop ones,
// the ones Connection names, pseudo-headers and a client-sent XFCC never cross the proxy, and
// the XFCC we set always parses back into exactly the verified peer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSpiffeId } from '../../common/spiffe-id.js';
import { forwardableHeaders, xfccValue } from './http-headers.js';

const HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
];
const nameChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split(''));
const headerName = fc.oneof(
  fc.string({ unit: nameChar, minLength: 1, maxLength: 12 }),
  fc.constantFrom(...HOP, 'x-forwarded-client-cert', ':authority', ':path', 'host', 'authorization'),
);
const headerValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
);
const headers = fc.dictionary(headerName, headerValue, { maxKeys: 12 });

/** XFCC element parsed per Envoy's grammar: key=value pairs split on ';'. */
function parseXfcc(value: string): Record<string, string> {
  return Object.fromEntries(value.split(';').map((kv) => kv.split('=', 2) as [string, string]));
}

describe('forwardableHeaders under random header sets', () => {
  it('drops every hop-by-hop, Connection-named, pseudo and dropped header and keeps the rest', () => {
    fc.assert(
      fc.property(headers, fc.array(fc.tuple(headerName, fc.boolean()), { maxLength: 3 }), (h, spelled) => {
        const named = spelled.map(([n]) => n);
        const input = { ...h, connection: spelled.map(([n, up]) => (up ? n.toUpperCase() : n)).join(' , ') };
        const out = forwardableHeaders(input, ['x-forwarded-client-cert']);
        const namedLower = named.map((n) => n.toLowerCase());
        for (const name of Object.keys(out)) {
          expect(HOP).not.toContain(name);
          expect(name.startsWith(':')).toBe(false);
          expect(name).not.toBe('x-forwarded-client-cert');
          expect(namedLower).not.toContain(name);
        }
        for (const [name, value] of Object.entries(h)) {
          const kept =
            !HOP.includes(name) &&
            !name.startsWith(':') &&
            name !== 'x-forwarded-client-cert' &&
            !namedLower.includes(name);
          if (kept) expect(out[name]).toEqual(value);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('xfccValue for any valid identities', () => {
  const seg = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,15}$/).filter((s) => s !== '.' && s !== '..');
  const id = fc
    .array(seg, { minLength: 1, maxLength: 4 })
    .map((s) => parseSpiffeId(`spiffe://example.org/${s.join('/')}`).toString());
  const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

  it('parses back into exactly By, Hash and URI with the values given', () => {
    fc.assert(
      fc.property(id, hash, id, (own, h, peer) => {
        const v = xfccValue(own, h, peer);
        expect(v).not.toMatch(/[,"\r\n]/);
        expect(parseXfcc(v)).toEqual({ By: own, Hash: h, URI: peer });
      }),
      { numRuns: 300 },
    );
  });
});
