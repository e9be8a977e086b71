import type { PushStore } from './push-types.ts';
import type { DecisionStore } from './types.ts';

/** Everything the service keeps: pushes and deliveries, decisions and planned tasks, context provenance. */
export type ServiceStore = DecisionStore & PushStore;
