import { createHash, randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type as T } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyRequest } from 'fastify';
import { DeciderError } from '../src/errors.ts';
import { githubSignatureValid, requireBearer, secretsEqual } from '../src/http/auth.ts';
import { githubIntake, githubRepositoryNames } from '../src/intake/github.ts';
import { gitlabIntake, gitlabRepositoryNames } from '../src/intake/gitlab.ts';
import { matchRepository } from '../src/intake/match.ts';
import { type Intake, REF_PATTERN, quoted } from '../src/intake/types.ts';
import type { RepositoryRuntime } from '../src/service/repositories.ts';
import type { Service } from '../src/service/service.ts';
import type { IntakeResult, PushSource } from '../src/domain/index.ts';
import { errors } from '../src/http/schemas.ts';
import { errorCodeOf } from '../plugins/error-handler.ts';

const Accepted = T.Object({
  outcome: T.Union([T.Literal('queued'), T.Literal('ignored'), T.Literal('duplicate'), T.Literal('pong')]),
  pushId: T.Optional(T.Union([T.String(), T.Null()])),
  reason: T.Optional(T.String()),
});
const RawJson = T.Object({}, { additionalProperties: true, description: 'the provider’s JSON payload (read raw: signatures cover the exact bytes)' });

const GenericBody = T.Object(
  {
    repository: T.String({ minLength: 1 }),
    ref: T.String({ minLength: 1, maxLength: 1024, pattern: REF_PATTERN }),
    rev: T.String({ pattern: '^[0-9a-f]{40}([0-9a-f]{24})?$' }),
    level: T.Optional(T.Integer({ minimum: 1, maximum: 3 })),
    pullRequest: T.Optional(T.Boolean()),
  },
  { additionalProperties: false },
);

/** Every webhook route takes a raw JSON body and answers alike. */
function webhookSchema<H extends TSchema>(summary: string, description: string, headers: H) {
  return { tags: ['webhooks'], summary, description, headers, body: RawJson, response: { 200: Accepted, 202: Accepted, ...errors(400, 401, 404, 413, 415, 503) } };
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new DeciderError('bad-request', 'the body is not valid JSON');
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const webhookRoutes: FastifyPluginAsyncTypebox<{ service: Service }> = async (app, { service }) => {
  const { store, metrics, worker, repos } = service;

  // A delivery refused (a wrong secret or token, a bad body, an unknown repository) is counted by
  // its error code, so a misconfigured sender can be alerted on (outcome="unauthorized").
  app.addHook('onError', async (request, _reply, error) => {
    const source = /^\/webhooks\/(\w+)/.exec(request.routeOptions.url ?? '')?.[1] ?? 'unknown';
    metrics.webhooks.inc({ source, outcome: errorCodeOf(error) });
  });

  // Signatures cover the exact bytes: keep the body raw and parse it ourselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const findRepo = (names: string[], among: Iterable<RepositoryRuntime> = repos.values()): RepositoryRuntime => {
    const config = matchRepository(
      [...among].map((r) => r.config),
      names,
    );
    if (!config) throw new DeciderError('unknown-repository', `no configured repository matches ${names[0] ?? 'this payload'}`);
    return repos.get(config.name)!;
  };

  /**
   * The repositories whose secret signed (or, for GitLab, is) this request, found before the
   * body is parsed: an unsigned body costs an HMAC per distinct secret, and is answered the
   * same whatever repository it names.
   */
  const signedBy = (valid: (secret: string) => boolean): RepositoryRuntime[] => {
    const verdicts = new Map<string, boolean>();
    return [...repos.values()].filter(({ config: { webhookSecret: secret } }) => {
      if (!secret) return false;
      if (!verdicts.has(secret)) verdicts.set(secret, valid(secret));
      return verdicts.get(secret)!;
    });
  };

  const accept = async (source: PushSource, deliveryId: string, event: string, repo: RepositoryRuntime, intake: Intake): Promise<IntakeResult> => {
    const receivedAt = new Date().toISOString();
    const ignored = intake.kind === 'ignored' ? intake.reason : null;
    const push =
      intake.kind === 'push'
        ? {
            id: randomUUID(),
            source,
            repository: repo.config.name,
            ref: intake.ref,
            rev: intake.rev,
            level: intake.level,
            pullRequest: intake.pullRequest,
            owner: intake.owner,
            force: null,
            receivedAt,
          }
        : null;
    const result = await store.recordDelivery({ source, deliveryId, event, receivedAt, ignoredReason: ignored }, push);
    metrics.webhooks.inc({ source, outcome: result.outcome });
    if (result.outcome === 'queued') worker.wake();
    return result;
  };

  const reply = (result: IntakeResult) => ({ status: (result.outcome === 'duplicate' ? 200 : 202) as 200 | 202, body: result });

  app.post(
    '/webhooks/github',
    {
      schema: webhookSchema(
        'GitHub push and pull_request events',
        'Signed with `X-Hub-Signature-256`; deduplicated by `X-GitHub-Delivery`. Answers at once; deciding is asynchronous.',
        T.Object({ 'x-github-event': T.String(), 'x-github-delivery': T.String({ minLength: 1, maxLength: 200 }), 'x-hub-signature-256': T.Optional(T.String()) }),
      ),
    },
    async (request, res) => {
      const raw = request.body as unknown as Buffer;
      const signature = header(request, 'x-hub-signature-256');
      const signers = signature ? signedBy((secret) => githubSignatureValid(secret, raw, signature)) : [];
      if (signers.length === 0) throw new DeciderError('unauthorized', 'X-Hub-Signature-256 is missing or matches no configured webhook secret');
      const event = request.headers['x-github-event'];
      // A hook's first delivery: signed with one of our secrets, it is answered whatever it names
      // (an organisation hook's ping names no configured repository, or none at all).
      if (event === 'ping') return res.status(200).send({ outcome: 'pong' });
      const body = parseJson(raw);
      const repo = findRepo(githubRepositoryNames(body), signers);
      const { status, body: out } = reply(await accept('github', request.headers['x-github-delivery'], event, repo, githubIntake(event, body, repo)));
      return res.status(status).send(out);
    },
  );

  app.post(
    '/webhooks/gitlab',
    {
      schema: webhookSchema(
        'GitLab push and tag push hooks',
        '`X-Gitlab-Token` must equal the repository’s secret; deduplicated by `X-Gitlab-Event-UUID` (or the body’s hash).',
        T.Object({ 'x-gitlab-event': T.String(), 'x-gitlab-token': T.Optional(T.String()), 'x-gitlab-event-uuid': T.Optional(T.String({ maxLength: 200 })) }),
      ),
    },
    async (request, res) => {
      const raw = request.body as unknown as Buffer;
      const token = header(request, 'x-gitlab-token');
      const signers = token ? signedBy((secret) => secretsEqual(token, secret)) : [];
      if (signers.length === 0) throw new DeciderError('unauthorized', 'X-Gitlab-Token is missing or matches no configured webhook secret');
      const body = parseJson(raw);
      const repo = findRepo(gitlabRepositoryNames(body), signers);
      const deliveryId = header(request, 'x-gitlab-event-uuid') ?? createHash('sha256').update(raw).digest('hex');
      const event = request.headers['x-gitlab-event'];
      const { status, body: out } = reply(await accept('gitlab', deliveryId, event, repo, gitlabIntake(event, body, repo)));
      return res.status(status).send(out);
    },
  );

  app.post(
    '/webhooks/generic',
    {
      schema: webhookSchema(
        'A push from any other system (hg, scripts)',
        'Bearer token; `level` defaults to the configured level of `ref`. Deduplicated by `X-Delivery-Id` (or the body’s hash).',
        T.Object({ authorization: T.Optional(T.String()), 'x-delivery-id': T.Optional(T.String({ maxLength: 200 })) }),
      ),
    },
    async (request, res) => {
      requireBearer(request, service.config.genericToken, 'the generic webhook');
      const raw = request.body as unknown as Buffer;
      const body = parseJson(raw);
      if (!Value.Check(GenericBody, body)) {
        const problems = [...Value.Errors(GenericBody, body)].map((e) => `${e.path || '(body)'} ${e.message}`);
        throw new DeciderError('bad-request', `invalid body: ${problems.join('; ')}`);
      }
      const repo = repos.get(body.repository) ?? findRepo([body.repository]);
      const level = body.level ?? repo.levelFor(body.ref);
      const intake: Intake =
        level === null
          ? { kind: 'ignored', reason: `no level is configured for ${quoted(body.ref)}` }
          : { kind: 'push', ref: body.ref, rev: body.rev, level: level as 1 | 2 | 3, pullRequest: body.pullRequest ?? false, owner: null };
      const deliveryId = header(request, 'x-delivery-id') ?? createHash('sha256').update(raw).digest('hex');
      const { status, body: out } = reply(await accept('generic', deliveryId, 'push', repo, intake));
      return res.status(status).send(out);
    },
  );
};

export default webhookRoutes;
