import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { TSchema } from '@sinclair/typebox';
import { ConfigFileSchema } from '../../src/config/schema.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every key a configuration file may hold, nested ones as `parent.key` (repositories' as `repositories.key`). */
function keys(schema: TSchema, prefix = ''): string[] {
  const object = schema.type === 'array' ? (schema.items as TSchema) : schema;
  if (object.type !== 'object' || !object.properties) return [];
  return Object.entries(object.properties as Record<string, TSchema>).flatMap(([name, sub]) => [`${prefix}${name}`, ...keys(sub, `${prefix}${name}.`)]);
}

describe('docs/service.md', () => {
  it('names every configuration key the schema accepts, in its example file', async () => {
    const docs = await readFile(resolve(ROOT, 'docs/service.md'), 'utf8');
    const example = /## Configuration[\s\S]*?```yaml\n([\s\S]*?)```/.exec(docs)![1]!;
    const documented = new Set([...example.matchAll(/^\s*(?:- |# )?([A-Za-z]+):/gm)].map((m) => m[1]));
    const missing = keys(ConfigFileSchema).filter((key) => !documented.has(key.split('.').at(-1)));
    assert.deepEqual(missing, []);
  });
});
