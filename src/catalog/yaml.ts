import yaml from 'js-yaml';
import { DeciderError, type ErrorCode } from '../errors.ts';
import type { TreeSource } from '../tree/types.ts';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads and parses a YAML file of the tree (none over `maxBytes`); errors carry `code` and the path. */
export async function readYaml(tree: TreeSource, path: string, code: ErrorCode, maxBytes: number): Promise<unknown> {
  const bytes = await tree.readFile(path);
  if (bytes.length > maxBytes) throw new DeciderError('limit-exceeded', `${path} is ${bytes.length} bytes, over the limit of ${maxBytes}`);
  const text = bytes.toString('utf8');
  try {
    return yaml.load(text, { filename: path });
  } catch (err) {
    throw new DeciderError(code, `${path}: ${(err as Error).message.split('\n')[0]}`);
  }
}
