/**
 * The checks the real Queue makes on `createTask`, as its create-task-request schema and
 * handler do, written independently of src/ so that a template the Queue would refuse fails here.
 */
const ALLOWED = new Set([
  'taskQueueId',
  'provisionerId',
  'workerType',
  'schedulerId',
  'projectId',
  'taskGroupId',
  'dependencies',
  'requires',
  'routes',
  'priority',
  'retries',
  'created',
  'deadline',
  'expires',
  'scopes',
  'payload',
  'metadata',
  'tags',
  'extra',
]);
const PRIORITIES = ['highest', 'very-high', 'high', 'medium', 'low', 'very-low', 'lowest', 'normal'];
const SLUGID = /^[A-Za-z0-9_-]{8}[Q-T][A-Za-z0-9_-][CGKOSWaeimquy26-][A-Za-z0-9_-]{10}[AQgw]$/;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

export class QueueInputError extends Error {
  constructor(
    readonly code: 'InputValidationError' | 'InputError',
    message: string,
  ) {
    super(message);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function date(def: Record<string, unknown>, field: string): number {
  const value = def[field];
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new QueueInputError('InputValidationError', `${field} must be a date-time string`);
  return t;
}

function stringList(def: Record<string, unknown>, field: string, max: number, maxLength = Infinity): string[] {
  const value = def[field] ?? [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0 || v.length > maxLength)) {
    throw new QueueInputError('InputValidationError', `${field} must be a list of strings of at most ${maxLength} characters`);
  }
  if (value.length > max) throw new QueueInputError('InputValidationError', `${field} has more than ${max} items`);
  if (new Set(value).size !== value.length) throw new QueueInputError('InputValidationError', `${field} items must be unique`);
  return value as string[];
}

/** Schema checks, then the time checks; `now` is the server's clock. */
export function validateTaskDefinition(def: unknown, now: number): void {
  if (!isObject(def)) throw new QueueInputError('InputValidationError', 'task definition must be an object');
  for (const key of Object.keys(def)) {
    if (!ALLOWED.has(key)) throw new QueueInputError('InputValidationError', `data must NOT have additional properties: ${key}`);
  }
  for (const field of ['created', 'deadline', 'payload', 'metadata']) {
    if (!(field in def)) throw new QueueInputError('InputValidationError', `data must have required property '${field}'`);
  }
  if (!isObject(def.payload)) throw new QueueInputError('InputValidationError', 'payload must be an object');
  const metadata = def.metadata;
  if (!isObject(metadata)) throw new QueueInputError('InputValidationError', 'metadata must be an object');
  for (const field of ['name', 'description', 'owner', 'source']) {
    if (typeof metadata[field] !== 'string') throw new QueueInputError('InputValidationError', `metadata must have required property '${field}'`);
  }
  if ((metadata.name as string).length > 255) throw new QueueInputError('InputValidationError', 'metadata.name is longer than 255');
  if (!/^(https?:\/\/|ssh:\/\/|git@)/.test(metadata.source as string)) {
    throw new QueueInputError('InputValidationError', 'metadata.source must start with https://, http://, ssh:// or git@');
  }
  const hasQueue = typeof def.taskQueueId === 'string' && /^[^/]+\/[^/]+$/.test(def.taskQueueId);
  const hasPair = typeof def.provisionerId === 'string' && typeof def.workerType === 'string';
  if (!hasQueue && !hasPair) throw new QueueInputError('InputError', 'taskQueueId, or provisionerId and workerType, are required');
  if (def.priority !== undefined && !PRIORITIES.includes(def.priority as string)) {
    throw new QueueInputError('InputValidationError', 'priority must be one of the allowed values');
  }
  if (def.taskGroupId !== undefined && !SLUGID.test(String(def.taskGroupId))) {
    throw new QueueInputError('InputValidationError', 'taskGroupId must be a slugid');
  }
  stringList(def, 'routes', 64, 249);
  for (const dep of stringList(def, 'dependencies', 10_000)) {
    if (!SLUGID.test(dep)) throw new QueueInputError('InputValidationError', `dependency ${dep} is not a slugid`);
  }
  stringList(def, 'scopes', Infinity);

  const created = date(def, 'created');
  const deadline = date(def, 'deadline');
  if (Math.abs(created - now) > 15 * MINUTE) {
    throw new QueueInputError('InputError', 'Created timestamp cannot be more than 15 minutes from the current time');
  }
  if (deadline < created) throw new QueueInputError('InputError', 'Deadline cannot be before created');
  if (deadline < now) throw new QueueInputError('InputError', '`deadline` cannot be in the past');
  if (deadline > now + 5 * DAY + 15 * MINUTE) throw new QueueInputError('InputError', 'Deadline cannot be more than 5 days into the future');
  if (def.expires !== undefined && date(def, 'expires') < deadline) {
    throw new QueueInputError('InputError', 'Expires cannot be before the deadline');
  }
}

/** The definition as the Queue stores it, with its defaults. */
export function withDefaults(taskId: string, def: Record<string, unknown>): Record<string, unknown> {
  const deadline = Date.parse(def.deadline as string);
  const [provisionerId, workerType] = typeof def.taskQueueId === 'string' ? def.taskQueueId.split('/') : [def.provisionerId, def.workerType];
  return {
    provisionerId,
    workerType,
    taskQueueId: `${String(provisionerId)}/${String(workerType)}`,
    schedulerId: '-',
    projectId: 'none',
    taskGroupId: taskId,
    dependencies: [],
    requires: 'all-completed',
    routes: [],
    priority: 'lowest',
    retries: 5,
    expires: new Date(deadline + 365 * DAY).toISOString(),
    scopes: [],
    tags: {},
    extra: {},
    ...def,
  };
}
