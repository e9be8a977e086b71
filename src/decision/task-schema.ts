import type { ValidateFunction } from 'ajv';
import { DeciderError } from '../errors.ts';
import type { TaskDefinition } from '../taskcluster/types.ts';

const MAX_DEADLINE_MS = 5 * 24 * 3600_000;
const identifier = { type: 'string', minLength: 1, maxLength: 38, pattern: '^([a-zA-Z0-9-_]*)$' };
const slugid = { type: 'string', pattern: '^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$' };

/** What the Queue's create-task-request schema accepts, so a bad template fails at start-up. */
export const createTaskRequest = {
  type: 'object',
  additionalProperties: false,
  required: ['created', 'deadline', 'payload', 'metadata'],
  properties: {
    taskQueueId: { type: 'string', pattern: '^[a-zA-Z0-9-_]{1,38}/[a-zA-Z0-9-_]{1,38}$' },
    provisionerId: identifier,
    workerType: identifier,
    schedulerId: identifier,
    projectId: identifier,
    taskGroupId: slugid,
    dependencies: { type: 'array', items: slugid, maxItems: 10000, uniqueItems: true },
    requires: { enum: ['all-completed', 'all-resolved'] },
    routes: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 249 }, maxItems: 64, uniqueItems: true },
    priority: { enum: ['highest', 'very-high', 'high', 'medium', 'low', 'very-low', 'lowest', 'normal'] },
    retries: { type: 'integer', minimum: 0, maximum: 49 },
    created: { type: 'string', format: 'date-time' },
    deadline: { type: 'string', format: 'date-time' },
    expires: { type: 'string', format: 'date-time' },
    scopes: { type: 'array', items: { type: 'string', pattern: '^[\\x20-\\x7e]*$' } },
    payload: { type: 'object' },
    metadata: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'description', 'owner', 'source'],
      properties: {
        name: { type: 'string', maxLength: 255 },
        description: { type: 'string', maxLength: 32768 },
        owner: { type: 'string', format: 'email', maxLength: 255 },
        source: { type: 'string', maxLength: 4096, pattern: '^(https?://|ssh://|git@)' },
      },
    },
    tags: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 } },
    extra: { type: 'object' },
  },
  anyOf: [{ required: ['taskQueueId'] }, { required: ['provisionerId', 'workerType'] }],
} as const;

export const AJV_OPTIONS = { allErrors: true, strict: true, strictRequired: false } as const;

/** The schema compiled by ajv now (about 60 ms, most of it loading ajv and generating code). */
async function compileNow(): Promise<ValidateFunction> {
  const [{ Ajv }, { default: addFormats }] = await Promise.all([import('ajv'), import('ajv-formats')]);
  const ajv = new Ajv(AJV_OPTIONS);
  addFormats.default(ajv);
  return ajv.compile(createTaskRequest);
}

/**
 * The same validator as ajv's standalone code, which `npm run build` writes beside the compiled
 * module (scripts/compile-validators.ts); the sources, run through tsx, compile it instead.
 */
const PRECOMPILED = new URL('./task-schema.validate.js', import.meta.url).href;
const validate: ValidateFunction = await import(PRECOMPILED).then(
  (m: { default: ValidateFunction }) => m.default,
  () => compileNow(),
);

/** Throws `bad-template` with every problem the Queue would report. */
export function checkTaskDefinition(definition: unknown, label: string): asserts definition is TaskDefinition {
  if (!validate(definition)) {
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '(task)'} ${e.message ?? 'is invalid'}`);
    throw new DeciderError('bad-template', `${label}: the Queue would refuse this task: ${problems.join('; ')}`);
  }
  const { created, deadline, expires } = definition as TaskDefinition;
  const span = Date.parse(deadline) - Date.parse(created);
  if (span <= 0 || span > MAX_DEADLINE_MS) {
    throw new DeciderError('bad-template', `${label}: deadline must be after created and at most 5 days later`);
  }
  if (expires !== undefined && Date.parse(expires) < Date.parse(deadline)) {
    throw new DeciderError('bad-template', `${label}: expires is before the deadline`);
  }
}
