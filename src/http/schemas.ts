import { Type as T } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode } from '../errors.ts';

export const ErrorSchema = T.Object(
  { code: T.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES] }), message: T.String() },
  { $id: 'Error', description: 'Every error answer: a code from one closed set, and a message' },
);
export const errorRef = T.Ref('Error');

export const LookupFactSchema = T.Object({
  path: T.String(),
  outcome: T.String(),
  taskId: T.Optional(T.String()),
  state: T.Optional(T.String()),
  expires: T.Optional(T.String()),
});

const Nullable = <S extends ReturnType<typeof T.String>>(s: S) => T.Union([s, T.Null()]);

const ValueChangeSchema = T.Object({ before: Nullable(T.String()), after: Nullable(T.String()) });
const FileStateSchema = T.Object({ mode: T.Integer(), size: T.Number() });

export const ChangesSchema = T.Object(
  {
    kind: T.String({
      description:
        'changed (inputs differ from the image’s version at the nearest decided ancestor revision), first (none known), unchanged (same inputs as that version, not indexed), pending (a nearer earlier revision is not decided yet: not compared), miss (a build of these inputs exists but cannot be reused), forced, uncached',
    }),
    summary: T.String({ description: 'one line; the reason starts with it' }),
    since: T.Optional(T.Object({ pushId: T.String(), rev: T.String(), decision: T.String(), taskId: Nullable(T.String()), digest: T.String() })),
    pending: T.Optional(T.Object({ pushId: T.String(), rev: T.String() }, { description: 'pending: the nearest earlier push, not decided yet when this one was' })),
    files: T.Optional(
      T.Object({
        added: T.Integer(),
        removed: T.Integer(),
        changed: T.Integer(),
        list: T.Array(
          T.Object({
            change: T.String({ description: 'added, removed or changed' }),
            path: T.String({ description: 'the name in the context (topsrcdir/… for an included file)' }),
            include: T.Optional(T.String({ description: 'the # %include it came in by' })),
            before: T.Optional(FileStateSchema),
            after: T.Optional(FileStateSchema),
          }),
          { maxItems: 50, description: 'at most 50, in archive order; the counts cover all' },
        ),
        note: T.Optional(T.String({ description: 'why the comparison is partial or not made (a file list cut at its bound, or not kept)' })),
      }),
    ),
    args: T.Optional(T.Record(T.String(), ValueChangeSchema, { description: '%ARG values that differ (null: unset)' })),
    parent: T.Optional(T.Object({ name: Nullable(T.String()), before: Nullable(T.String()), after: Nullable(T.String()) }, { description: 'the parent’s digest' })),
    builderImage: T.Optional(ValueChangeSchema),
    algorithm: T.Optional(ValueChangeSchema),
  },
  { $id: 'Changes', description: 'Why an image is built: what differs from its last version, or why a build of the same inputs was not reused' },
);

export const ImageSchema = T.Object(
  {
    kind: T.Optional(T.String({ description: 'build, registry, error or blocked' })),
    contextDir: T.Optional(T.String()),
    parent: T.Optional(Nullable(T.String())),
    args: T.Optional(T.Record(T.String(), T.String())),
    contextHash: T.Union([T.String(), T.Null()]),
    digest: T.Union([T.String(), T.Null()]),
    indexPaths: T.Optional(T.Array(T.String())),
    routes: T.Optional(T.Array(T.String())),
    reference: T.Optional(T.String()),
    error: T.Optional(T.Object({ code: T.String(), message: T.String() })),
    blockedBy: T.Optional(T.String()),
    decision: T.String({ description: 'indexed, in-flight, build, registry, error or blocked' }),
    reason: T.String(),
    facts: T.Array(LookupFactSchema),
    taskId: Nullable(T.String()),
    artifactUrl: Nullable(T.String()),
    contextUrl: Nullable(
      T.String({
        description: 'where builders download the context (CONTEXT_URL); null for an image with no context, or a preview’s context no push recorded yet (contextUrlNote)',
      }),
    ),
    contextUrlNote: T.Optional(T.String({ description: 'why a built image’s contextUrl is null: a preview’s context is served once a push records it' })),
    dryRun: T.Optional(T.Boolean()),
    changes: T.Optional(T.Ref('Changes')),
    definition: T.Optional(T.Record(T.String(), T.Unknown())),
  },
  { $id: 'Image' },
);

export const PushSchema = T.Object(
  {
    id: T.String(),
    source: T.String(),
    repository: T.String(),
    ref: Nullable(T.String()),
    rev: T.String(),
    resolvedRev: Nullable(T.String()),
    level: T.Integer(),
    pullRequest: T.Boolean(),
    state: T.String({ description: 'queued, deciding, decided or failed' }),
    attempts: T.Integer(),
    receivedAt: T.String(),
    startedAt: Nullable(T.String()),
    finishedAt: Nullable(T.String()),
    seconds: T.Union([T.Number(), T.Null()], { description: 'from receipt to decided' }),
    lastError: T.Union([T.Object({ code: T.String(), message: T.String() }), T.Null()]),
    counts: T.Union([T.Record(T.String(), T.Integer()), T.Null()]),
    force: T.Union([T.Object({ image: T.String(), withDescendants: T.Boolean() }), T.Null()]),
  },
  { $id: 'Push' },
);

export const GraphSchema = T.Object(
  {
    repo: T.String(),
    rev: T.String(),
    state: T.String({ description: 'queued, deciding, decided, failed, or preview (nothing recorded, nothing created)' }),
    push: T.Union([T.Ref('Push'), T.Null()]),
    level: T.Integer(),
    pullRequest: T.Boolean(),
    dryRun: T.Boolean(),
    taskGroupId: Nullable(T.String()),
    images: T.Record(T.String(), T.Ref('Image')),
  },
  { $id: 'Graph' },
);

export const SHARED_SCHEMAS = [ErrorSchema, ChangesSchema, ImageSchema, PushSchema, GraphSchema];

/** Error answers of a route, for the OpenAPI document. */
export function errors(...statuses: number[]): Record<number, typeof errorRef> {
  return Object.fromEntries(statuses.map((s) => [s, errorRef]));
}
