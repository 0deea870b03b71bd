// Reading an OAuth request body: application/x-www-form-urlencoded only, bounded in size, and no
// parameter more than once (RFC 6749 §3.2). Anything else is invalid_request.
import { TetherError } from '../../common/errors.js';

/** Largest request body accepted; a token request is a few hundred bytes. */
export const MAX_FORM_BYTES = 16 * 1024;

function invalid(message: string): TetherError {
  return new TetherError('ERR_TOKEN_REQUEST_INVALID', message);
}

/** True for `application/x-www-form-urlencoded`, with or without parameters such as charset. */
export function isFormContentType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/x-www-form-urlencoded';
}

/** Parses the body into single-valued parameters; throws ERR_TOKEN_REQUEST_INVALID. */
export function parseForm(contentType: string | undefined, body: string): Map<string, string> {
  if (!isFormContentType(contentType))
    throw invalid('the request body must be application/x-www-form-urlencoded');
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (params.has(name)) throw invalid(`parameter "${name}" is repeated`);
    params.set(name, value);
  }
  return params;
}
