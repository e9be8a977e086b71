import type { HistoryStore, PushStore } from './push-types.ts';
import type { DecisionStore } from './types.ts';

/** Everything the service keeps: pushes and deliveries, decisions and planned tasks, context provenance, and summaries of them. */
export type ServiceStore = DecisionStore & PushStore & HistoryStore;
