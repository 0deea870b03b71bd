import { describe, expect, it } from 'vitest';
import { isFormContentType, parseForm } from './form.js';

const FORM = 'application/x-www-form-urlencoded';

describe('parseForm', () => {
  it('decodes single-valued parameters', () => {
    const p = parseForm(FORM, 'grant_type=client_credentials&scope=read%3Aorders+write%3Aorders');
    expect(p.get('grant_type')).toBe('client_credentials');
    expect(p.get('scope')).toBe('read:orders write:orders');
  });

  it('accepts a charset parameter and any case of the media type', () => {
    expect(isFormContentType('Application/X-WWW-Form-Urlencoded; charset=UTF-8')).toBe(true);
  });

  it('refuses other content types and none', () => {
    for (const type of ['application/json', 'text/plain', undefined, 'multipart/form-data'])
      expect(() => parseForm(type, 'a=b')).toThrow(
        expect.objectContaining({ code: 'ERR_TOKEN_REQUEST_INVALID' }),
      );
  });

  it('refuses a repeated parameter (RFC 6749 §3.2)', () => {
    expect(() => parseForm(FORM, 'scope=a&scope=b')).toThrow(/"scope" is repeated/);
  });
});
