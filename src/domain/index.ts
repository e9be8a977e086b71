/**
 * The types every layer shares (store, decision, HTTP, CLI) and the rules that belong to
 * them rather than to one layer: levels, decisions and planned tasks, pushes, the store's
 * ports, and when a build serves a push.
 */
export * from './build-reuse.ts';
export * from './changes.ts';
export * from './decision.ts';
export * from './level.ts';
export * from './push.ts';
export * from './refresh.ts';
export * from './store.ts';
