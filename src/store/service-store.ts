import type { DecisionStore, HistoryStore, PushStore } from '../domain/index.ts';

/** Everything the service keeps: pushes and deliveries, decisions and planned tasks, context provenance, and summaries of them. */
export type ServiceStore = DecisionStore & PushStore & HistoryStore;
