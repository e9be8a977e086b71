import type { Level } from '../domain/index.ts';
import { DeciderError } from '../errors.ts';

/** What a webhook asks for, before it is stored. */
export type Intake =
  | {
      readonly kind: 'push';
      readonly ref: string | null;
      readonly rev: string;
      readonly level: Level;
      readonly pullRequest: boolean;
      readonly owner: string | null;
    }
  | { readonly kind: 'ignored'; readonly reason: string };

/** The repository settings intake needs. */
export interface IntakeRepository {
  readonly pullRequests: boolean;
  levelFor(ref: string): Level | null;
}

export const ZERO_SHA = /^0+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function emailOrNull(value: unknown): string | null {
  return typeof value === 'string' && EMAIL.test(value) && value.length <= 255 ? value : null;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A sender's value quoted for a stored reason: JSON escapes control characters (PostgreSQL
 * text holds no NUL) and the length is bounded.
 */
export function quoted(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/** Git allows no control characters in a ref name (git check-ref-format), nor do we store them. */
export const REF_PATTERN = '^[^\\u0000-\\u001f\\u007f]+$';
const REF = new RegExp(REF_PATTERN);

/** A push to a ref: ignored when it deletes the ref or its ref has no configured level. */
export function refPush(repo: IntakeRepository, ref: string, after: string, deleted: boolean, owner: string | null): Intake {
  if (!REF.test(ref)) throw new DeciderError('bad-request', `ref ${quoted(ref)} is not a valid ref name`);
  if (deleted || ZERO_SHA.test(after)) return { kind: 'ignored', reason: `${quoted(ref)} was deleted` };
  const level = repo.levelFor(ref);
  if (level === null) return { kind: 'ignored', reason: `no level is configured for ${quoted(ref)}` };
  return { kind: 'push', ref, rev: after, level, pullRequest: false, owner };
}
