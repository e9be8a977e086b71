import type { Level } from '../context/index-paths.ts';

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

/** A push to a ref: ignored when it deletes the ref or its ref has no configured level. */
export function refPush(repo: IntakeRepository, ref: string, after: string, deleted: boolean, owner: string | null): Intake {
  if (deleted || ZERO_SHA.test(after)) return { kind: 'ignored', reason: `${ref} was deleted` };
  const level = repo.levelFor(ref);
  if (level === null) return { kind: 'ignored', reason: `no level is configured for ${ref}` };
  return { kind: 'push', ref, rev: after, level, pullRequest: false, owner };
}
