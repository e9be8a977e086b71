import { DeciderError } from '../errors.ts';
import { type Intake, type IntakeRepository, emailOrNull, isObject, quoted, refPush } from './types.ts';

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export function gitlabRepositoryNames(body: unknown): string[] {
  if (!isObject(body) || !isObject(body.project)) throw new DeciderError('bad-request', 'the payload has no project');
  const p = body.project;
  return ['path_with_namespace', 'git_http_url', 'web_url', 'git_ssh_url'].map((k) => p[k]).filter((v): v is string => typeof v === 'string');
}

/** What a GitLab `Push Hook` or `Tag Push Hook` asks for. */
export function gitlabIntake(event: string, body: unknown, repo: IntakeRepository): Intake {
  if (!isObject(body)) throw new DeciderError('bad-request', 'the payload is not a JSON object');
  if (event !== 'Push Hook' && event !== 'Tag Push Hook') return { kind: 'ignored', reason: `event ${quoted(event)} is not decided` };
  const { ref, after } = body;
  if (typeof ref !== 'string' || typeof after !== 'string' || !SHA.test(after)) {
    throw new DeciderError('bad-request', 'the payload needs a string ref and a commit sha in after');
  }
  return refPush(repo, ref, after, false, emailOrNull(body.user_email));
}
