import { DeciderError } from '../errors.ts';
import { type Intake, type IntakeRepository, emailOrNull, isObject, quoted, refPush } from './types.ts';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

function str(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string') throw new DeciderError('bad-request', `the payload has no string ${key}`);
  return value;
}

/** The repository a GitHub payload is about: its `full_name` and clone URLs. */
export function githubRepositoryNames(body: unknown): string[] {
  if (!isObject(body) || !isObject(body.repository)) throw new DeciderError('bad-request', 'the payload has no repository');
  const r = body.repository;
  return ['full_name', 'clone_url', 'html_url', 'ssh_url', 'git_url'].map((k) => r[k]).filter((v): v is string => typeof v === 'string');
}

/** What a GitHub `push` or `pull_request` event asks for. */
export function githubIntake(event: string, body: unknown, repo: IntakeRepository): Intake {
  if (!isObject(body)) throw new DeciderError('bad-request', 'the payload is not a JSON object');
  if (event === 'push') {
    const ref = str(body, 'ref');
    const after = str(body, 'after');
    if (!SHA.test(after)) throw new DeciderError('bad-request', 'after is not a commit sha');
    const pusher = isObject(body.pusher) ? body.pusher.email : undefined;
    const author = isObject(body.head_commit) && isObject(body.head_commit.author) ? body.head_commit.author.email : undefined;
    return refPush(repo, ref, after, body.deleted === true, emailOrNull(pusher) ?? emailOrNull(author));
  }
  if (event === 'pull_request') {
    if (!repo.pullRequests) return { kind: 'ignored', reason: 'pull requests are not decided for this repository' };
    const action = str(body, 'action');
    if (!PR_ACTIONS.has(action)) return { kind: 'ignored', reason: `pull request action ${quoted(action)}` };
    const pr = body.pull_request;
    if (!isObject(pr) || !isObject(pr.head) || typeof pr.head.sha !== 'string' || !SHA.test(pr.head.sha)) {
      throw new DeciderError('bad-request', 'pull_request.head.sha is missing');
    }
    const number = typeof body.number === 'number' ? body.number : Number(pr.number);
    return { kind: 'push', ref: `refs/pull/${number}/head`, rev: pr.head.sha, level: 1, pullRequest: true, owner: null };
  }
  return { kind: 'ignored', reason: `event ${quoted(event)} is not decided` };
}
