import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TetherError } from './errors.js';
import { certsToPem, fromPem, toPem } from './pem.js';

describe('toPem', () => {
  it('wraps base64 at 64 columns between CERTIFICATE armor lines', () => {
    const der = randomBytes(200);
    const pem = toPem(der);
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN CERTIFICATE-----');
    expect(lines.at(-1)).toBe('-----END CERTIFICATE-----');
    const body = lines.slice(1, -1);
    expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true);
    expect(body.at(-1)!.length).toBeLessThanOrEqual(64);
    expect(Buffer.from(body.join(''), 'base64').equals(der)).toBe(true);
    expect(pem.endsWith('\n')).toBe(true);
  });

  it('uses the given label', () => {
    expect(toPem(Buffer.from([1, 2, 3]), 'PUBLIC KEY')).toMatch(
      /^-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n$/,
    );
  });
});

describe('fromPem', () => {
  it('round-trips DER through toPem', () => {
    const der = randomBytes(1000);
    expect(fromPem(toPem(der))).toEqual([der]);
  });

  it('returns every block with the label, in order, skipping other labels and text between', () => {
    const a = randomBytes(40);
    const b = randomBytes(50);
    const text = `subject=foo\n${toPem(a)}${toPem(randomBytes(8), 'PRIVATE KEY')}junk\r\n${toPem(b).replace(/\n/g, '\r\n')}`;
    expect(fromPem(text)).toEqual([a, b]);
  });

  it('refuses text without a block of the label with ERR_CONFIG_INVALID', () => {
    const keyOnly = toPem(randomBytes(8), 'PRIVATE KEY');
    expect(() => fromPem(keyOnly)).toThrow(TetherError);
    expect(() => fromPem('')).toThrow(/no "CERTIFICATE" PEM block/);
  });

  it('ignores a block whose END label does not match its BEGIN label', () => {
    const text = '-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n';
    expect(() => fromPem(text)).toThrow(TetherError);
  });
});

describe('certsToPem', () => {
  it('joins certificates into one bundle that fromPem splits again', () => {
    const ders = [randomBytes(30), randomBytes(70), randomBytes(10)];
    const bundle = certsToPem(ders);
    expect(bundle.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
    expect(fromPem(bundle)).toEqual(ders);
  });

  it('returns an empty string for no certificates', () => {
    expect(certsToPem([])).toBe('');
  });
});
