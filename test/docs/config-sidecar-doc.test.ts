// Keeps docs/config-sidecar.md honest: its example loads, and every schema key is documented.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSidecarConfig } from '../../sidecar/config/load.js';
import { inboundSchema, outboundSchema, sidecarConfigSchema } from '../../sidecar/config/schema.js';
import { REPO_ROOT } from '../helpers/ca-process.js';

const doc = readFileSync(path.join(REPO_ROOT, 'docs/config-sidecar.md'), 'utf8');

/** Top-level and nested keys of a zod object schema, as documented (`ca.ttl`, `inbound[].tls.minVersion`). */
function keysOf(shape: Record<string, unknown>, prefix: string): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(shape)) {
    const name = `${prefix}${key}`;
    let inner = value as {
      unwrap?: () => unknown;
      shape?: Record<string, unknown>;
      _zod?: { def?: { type?: string; innerType?: unknown; in?: unknown } };
    };
    for (let i = 0; i < 5 && !inner.shape && inner._zod?.def?.type !== 'array'; i++) {
      const next = inner._zod?.def?.innerType ?? inner._zod?.def?.in;
      if (!next) break;
      inner = next as typeof inner;
    }
    if (inner._zod?.def?.type === 'array' && ['inbound', 'outbound'].includes(key)) out.push(`${name}[]`);
    else if (inner.shape) out.push(...keysOf(inner.shape, `${name}.`));
    else out.push(name);
  }
  return out;
}

describe('docs/config-sidecar.md', () => {
  it('has an example that loads as a valid sidecar configuration', () => {
    const yaml = /## Example\n\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(yaml).toBeTruthy();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tether-doc-')), 'sidecar.yaml');
    writeFileSync(file, yaml!);
    const config = loadSidecarConfig(file);
    expect(config.inbound[0]?.allow).toContain('spiffe://example.org/ns/shop/sa/web');
  });

  it('documents every key of the schema', () => {
    const keys = [
      ...keysOf(sidecarConfigSchema.shape, ''),
      ...keysOf(inboundSchema.shape, 'inbound[].'),
      ...keysOf(outboundSchema.shape, 'outbound[].'),
    ];
    expect(keys).toEqual(
      expect.arrayContaining(['ca.rootFingerprint', 'inbound[].tls.minVersion', 'files.mode', 'log.level']),
    );
    expect(keys.length).toBeGreaterThan(25);
    for (const key of keys) expect(doc, `missing ${key}`).toContain(`\`${key}\``);
  });
});
