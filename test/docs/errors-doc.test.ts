// Keeps docs/errors.md and the gRPC mapping complete: every error code has a row and a status.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GRPC_STATUS } from '../../ca/grpc/status-map.js';
import { ERROR_CODES } from '../../common/errors.js';
import { REPO_ROOT } from '../helpers/ca-process.js';

const doc = readFileSync(`${REPO_ROOT}/docs/errors.md`, 'utf8');
const documented = [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);

describe('docs/errors.md', () => {
  it('documents every error code exactly once', () => {
    expect([...documented].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('maps every error code to a gRPC status', () => {
    for (const code of ERROR_CODES) expect(GRPC_STATUS[code]).toBeTypeOf('number');
  });
});
