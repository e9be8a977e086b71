/** Scope satisfaction and expansion as the real auth service does them, written apart from src/. */

/** `held` satisfies `needed` when equal, or when `held` ends in `*` and `needed` starts with the rest. */
export function satisfies(held: readonly string[], needed: string): boolean {
  return held.some((h) => h === needed || (h.endsWith('*') && needed.startsWith(h.slice(0, -1))));
}

/**
 * A required scope expression: each item must be satisfied; an inner list is an AnyOf
 * (the Queue's priorities: any priority at or above the task's will do).
 */
export type Requirement = ReadonlyArray<string | readonly string[]>;

/** The unsatisfied items, as the real services list them. */
export function unsatisfied(held: readonly string[], required: Requirement): Array<string | readonly string[]> {
  return required.filter((item) => (typeof item === 'string' ? !satisfies(held, item) : !item.some((s) => satisfies(held, s))));
}

/** `assume:<role>` scopes expanded through `roles` (a role's id may end in `*`), to a fixed point. */
export function expand(scopes: readonly string[], roles: ReadonlyMap<string, readonly string[]>): string[] {
  const out = new Set(scopes);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [roleId, roleScopes] of roles) {
      if (!satisfies([...out], `assume:${roleId}`) && ![...out].some((s) => s.startsWith('assume:') && roleId.endsWith('*') && s.startsWith(`assume:${roleId.slice(0, -1)}`)))
        continue;
      for (const s of roleScopes) {
        if (out.has(s)) continue;
        out.add(s);
        grew = true;
      }
    }
  }
  return [...out].sort();
}

/** The message of a 403 `InsufficientScopes`, in the real services' words. */
export function insufficientMessage(clientId: string, missing: ReadonlyArray<string | readonly string[]>, required: Requirement): string {
  const show = (items: ReadonlyArray<string | readonly string[]>) =>
    items.length === 1 && typeof items[0] === 'string' ? items[0] : JSON.stringify({ AllOf: items.map((i) => (typeof i === 'string' ? i : { AnyOf: i })) }, null, 2);
  return [
    `Client ID ${clientId} does not have sufficient scopes and is missing the following scopes:`,
    '',
    '```',
    show(missing),
    '```',
    '',
    'This request requires the client to satisfy the following scope expression:',
    '',
    '```',
    show(required),
    '```',
  ].join('\n');
}
