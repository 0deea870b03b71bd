// Keeps docs/config-ca.md honest: it must be what the generator renders, CA_SETTINGS must cover
// exactly the schema's keys, and the documented example must load to the real defaults.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CA_SETTINGS } from '../../ca/config/defaults.js';
import { loadCaConfig } from '../../ca/config/load.js';
import { caConfigSchema } from '../../ca/config/schema.js';
import { CA_CONFIG_DOC, renderCaConfigDoc } from '../../scripts/gen-config-doc.js';
import { REPO_ROOT } from '../helpers/ca-process.js';

const doc = readFileSync(path.join(REPO_ROOT, CA_CONFIG_DOC), 'utf8');

/** Dotted paths of every leaf setting, looking through defaults, prefaults and optionals. */
function leafKeys(schema: z.core.SomeType, prefix: string): string[] {
  if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional) {
    return leafKeys(schema.unwrap(), prefix);
  }
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape).flatMap(([key, child]) =>
      leafKeys(child, prefix ? `${prefix}.${key}` : key),
    );
  }
  return [prefix];
}

function exampleYaml(markdown: string): string {
  const match = /## Example\n\n```yaml\n([\s\S]*?)```/.exec(markdown);
  if (!match?.[1]) throw new Error('docs/config-ca.md has no ```yaml example under "## Example"');
  return match[1];
}

describe('docs/config-ca.md', () => {
  it('is what scripts/gen-config-doc.ts renders from CA_SETTINGS', () => {
    expect(doc, 'docs/config-ca.md is stale: run `npx tsx scripts/gen-config-doc.ts`').toBe(
      renderCaConfigDoc(),
    );
  });

  it('documents every key of the config schema, and no key the schema lacks', () => {
    const schemaKeys = leafKeys(caConfigSchema, '').sort();
    const documented = CA_SETTINGS.map((s) => s.key).sort();
    expect(documented).toEqual(schemaKeys);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('shows an example that loads to exactly the defaults the code uses', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tether-config-doc-'));
    try {
      const file = path.join(dir, 'tether-ca.yaml');
      writeFileSync(file, exampleYaml(doc));
      const fromExample = loadCaConfig(file, {});
      const defaults = loadCaConfig(undefined, { dataDir: 'x' });
      expect({ ...fromExample, dataDir: 'x' }).toEqual(defaults);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
