// taskcluster-client 87 is ESM with no type declarations; these are the few parts we use.
declare module 'taskcluster-client' {
  export interface ClientOptions {
    rootUrl: string;
    credentials?: { clientId?: string; accessToken?: string };
    retries?: number;
    delayFactor?: number;
    maxDelay?: number;
    timeout?: number;
    agent?: { keepAlive?: boolean; maxSockets?: number; maxFreeSockets?: number };
  }
  type Method = (...args: never[]) => Promise<unknown>;
  export class Queue {
    constructor(options: ClientOptions);
    ping(): Promise<unknown>;
    createTask(taskId: string, task: object): Promise<unknown>;
    task(taskId: string): Promise<unknown>;
    status(taskId: string): Promise<unknown>;
    statuses(payload: { taskIds: string[] }, query?: { continuationToken?: string; limit?: number }): Promise<unknown>;
    listLatestArtifacts(taskId: string, query?: { continuationToken?: string; limit?: number }): Promise<unknown>;
    getLatestArtifact: Method;
    buildUrl(method: Method, ...args: string[]): string;
  }
  export class Index {
    constructor(options: ClientOptions);
    findTask(indexPath: string): Promise<unknown>;
    findTasksAtIndex(payload: { indexes: string[] }, query?: { continuationToken?: string; limit?: number }): Promise<unknown>;
    insertTask(namespace: string, payload: object): Promise<unknown>;
  }
  export class Auth {
    constructor(options: ClientOptions);
    currentScopes(): Promise<unknown>;
    expandScopes(payload: { scopes: string[] }): Promise<unknown>;
  }
  export function slugid(): string;
  export function fromEnvVars(): Partial<ClientOptions>;
  const taskcluster: {
    Queue: typeof Queue;
    Index: typeof Index;
    Auth: typeof Auth;
    slugid: typeof slugid;
    fromEnvVars: typeof fromEnvVars;
  };
  export default taskcluster;
}
