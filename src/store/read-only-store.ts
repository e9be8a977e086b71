import type { BuildQuery, ChangeStore, DecisionStore, PlanResult, PlannedTask } from '../domain/index.ts';

/**
 * A view of a decision store that reads through and writes nothing: previews decide with
 * the real builds in flight, and leave no trace.
 */
export class ReadOnlyDecisionStore implements DecisionStore {
  constructor(private readonly inner: DecisionStore) {}

  async planTask(task: PlannedTask, options: { reuse: boolean }): Promise<PlanResult> {
    const existing = options.reuse ? await this.inner.findActiveBuild(task) : null;
    return existing ? { planned: false, existing } : { planned: true, task };
  }

  findActiveBuild(query: BuildQuery) {
    return this.inner.findActiveBuild(query);
  }

  getTask(taskId: string) {
    return this.inner.getTask(taskId);
  }

  tasksOfDecision(decisionId: string) {
    return this.inner.tasksOfDecision(decisionId);
  }

  getDecision(id: string) {
    return this.inner.getDecision(id);
  }

  async unfinishedDecisions() {
    return [];
  }

  async markSubmitted(): Promise<void> {}
  async replaceDefinition(): Promise<void> {}
  async markRejected(): Promise<void> {}
  async deactivate(): Promise<void> {}
  async saveDecision(): Promise<void> {}
}

/** A change store's reads, recording nothing: a preview explains its builds and leaves no version behind. */
export class ReadOnlyChangeStore implements ChangeStore {
  constructor(private readonly inner: ChangeStore) {}

  getManifests(contextHashes: readonly string[]) {
    return this.inner.getManifests(contextHashes);
  }

  versionsOfImages(repository: string, images: readonly string[]) {
    return this.inner.versionsOfImages(repository, images);
  }

  async recordManifests(): Promise<void> {}
  async recordVersions(): Promise<void> {}
}
