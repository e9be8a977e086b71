import type { ChangeStore, DecisionStore, HistoryStore, PushStore, RefreshStore } from '../domain/index.ts';

/** Everything the service keeps: pushes and deliveries, decisions and planned tasks, context provenance, summaries of them, the refreshes of images close to expiry, and what explains builds (manifests and image versions). */
export type ServiceStore = DecisionStore & PushStore & HistoryStore & RefreshStore & ChangeStore;
