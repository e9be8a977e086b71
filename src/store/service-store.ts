import type { DecisionStore, HistoryStore, PushStore, RefreshStore } from '../domain/index.ts';

/** Everything the service keeps: pushes and deliveries, decisions and planned tasks, context provenance, summaries of them, and the refreshes of images close to expiry. */
export type ServiceStore = DecisionStore & PushStore & HistoryStore & RefreshStore;
