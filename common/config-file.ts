// Reading a YAML config file and reporting schema problems, shared by the CA and the sidecar:
// every problem at once, naming the key, the bad value and what was expected.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { TetherError } from './errors.js';

export type ConfigObject = Record<string, unknown>;

/** Reads a YAML mapping (an empty file is an empty mapping). */
export function readYamlFile(file: string): ConfigObject {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TetherError('ERR_CONFIG_INVALID', `cannot read config file ${file}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TetherError(
      'ERR_CONFIG_INVALID',
      `config file ${file} is not valid YAML: ${(err as Error).message}`,
    );
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TetherError('ERR_CONFIG_INVALID', `config file ${file} must be a YAML mapping`);
  }
  return doc as ConfigObject;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Sets a dotted key in a nested object (flags are given as dotted keys). */
export function setPath(target: ConfigObject, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  // A key such as "__proto__.x" would otherwise write into Object.prototype (prototype pollution).
  if (parts.some((p) => UNSAFE_KEYS.has(p)))
    throw new TetherError('ERR_CONFIG_INVALID', `config key ${dotted} is not allowed`);
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as ConfigObject;
  }
  node[parts.at(-1)!] = value;
}

function lookup(obj: ConfigObject, path: PropertyKey[]): unknown {
  let node: unknown = obj;
  for (const p of path)
    node = node && typeof node === 'object' ? (node as ConfigObject)[p as string] : undefined;
  return node;
}

/** Validates `raw` against `schema`; throws ERR_CONFIG_INVALID listing every problem. */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  raw: ConfigObject,
  what: string,
  file?: string,
): z.output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => {
    const key = i.path.join('.') || '(root)';
    // For unknown keys name them only: echoing the section could print a secret put in the wrong place.
    if (i.code === 'unrecognized_keys') return `  ${key}: ${i.message} (${i.keys.join(', ')})`;
    const value = lookup(raw, i.path);
    return `  ${key}: ${i.message}; got ${value === undefined ? 'nothing' : JSON.stringify(value)}`;
  });
  throw new TetherError(
    'ERR_CONFIG_INVALID',
    `invalid ${what}${file ? ` in ${file}` : ''}:\n${lines.join('\n')}`,
  );
}
