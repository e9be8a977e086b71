import { nice } from 'slugid';

/** A new task id: a "nice" slugid, as taskcluster-client makes (without loading the client). */
export const newTaskId = (): string => nice();
