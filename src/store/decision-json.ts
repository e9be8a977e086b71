import type { DecisionRecord } from '../domain/index.ts';
import { DeciderError } from '../errors.ts';

/** Decision records larger than this (as JSON) are not stored by default (`limits.decisionBytes`). */
export const DEFAULT_MAX_DECISION_BYTES = 64 * 1024 * 1024;

/**
 * The record as JSON, or `limit-exceeded` once it is over `maxBytes` (UTF-8). The images,
 * nearly all of a record's size, are serialised one at a time and counted as they go: a
 * record over the limit stops there, long before one string would outgrow what V8 can hold
 * (`Invalid string length`). The JSON is the record's, with `images` last.
 */
export function decisionJson(record: DecisionRecord, maxBytes: number): string {
  const { images, ...rest } = record;
  const head = JSON.stringify(rest);
  let bytes = Buffer.byteLength(head) + ',"images":[]'.length;
  const parts: string[] = [];
  for (const image of images) {
    const part = JSON.stringify(image);
    bytes += Buffer.byteLength(part) + (parts.length ? 1 : 0);
    if (bytes > maxBytes) {
      throw new DeciderError(
        'limit-exceeded',
        `decision ${record.id} is at least ${bytes} bytes as JSON (after ${parts.length + 1} of ${images.length} images), over the limit of ${maxBytes} bytes per stored decision (limits.decisionBytes)`,
      );
    }
    parts.push(part);
  }
  return `${head.slice(0, -1)},"images":[${parts.join(',')}]}`;
}
