import type { FastifyError, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import { DeciderError, type ErrorCode, isDeciderError } from '../src/errors.ts';

/** The HTTP status of each code that can reach a client; anything else is a 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  'bad-request': 400,
  'bad-argument': 400,
  unauthorized: 401,
  'not-found': 404,
  'unknown-repository': 404,
  'unknown-revision': 404,
  'unknown-image': 404,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'rate-limited': 429,
  'fetch-failed': 502,
  'repository-unreadable': 502,
  'taskcluster-unavailable': 503,
  'insufficient-scopes': 502,
  conflict: 409,
  'not-buildable': 409,
  unavailable: 503,
  // A preview of a revision over a limit: the request was fine, the revision is not.
  'limit-exceeded': 422,
  'context-too-large': 422,
};

/** The code an error is answered with (for metrics that count refusals by code). */
export function errorCodeOf(err: unknown): ErrorCode {
  return isDeciderError(err) ? err.code : fromFastify(err as FastifyError).code;
}

/** Fastify's own errors, by status, in our codes. */
function fromFastify(err: FastifyError): DeciderError {
  const status = err.statusCode ?? 500;
  if (err.validation) return new DeciderError('bad-request', err.message);
  if (status === 413) return new DeciderError('payload-too-large', err.message);
  if (status === 415) return new DeciderError('unsupported-media-type', err.message);
  if (status === 429) return new DeciderError('rate-limited', err.message);
  if (status === 404) return new DeciderError('not-found', err.message);
  if (status === 503) return new DeciderError('unavailable', err.message);
  if (status >= 400 && status < 500) return new DeciderError('bad-request', err.message);
  return new DeciderError('internal-error', 'internal error');
}

/**
 * An error is true now, not for ever: no cache (a CDN in front of immutable routes included)
 * may keep it, whatever the route had set before it failed.
 */
function uncacheable(reply: FastifyReply): FastifyReply {
  reply.removeHeader('etag');
  return reply.header('cache-control', 'no-store');
}

/**
 * Every error answer is `{code, message}` from the one closed set, logged with the request.
 * Not encapsulated (fastify-plugin): the handlers are the whole app's, every route's included.
 */
export default fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError, request, reply) => {
      const error = isDeciderError(err) ? err : fromFastify(err);
      const status = STATUS[error.code] ?? 500;
      if (status >= 500) request.log.error({ err }, 'request failed');
      else request.log.info({ code: error.code, message: error.message, status }, 'request refused');
      // Unexpected errors may carry internals: the client gets the code only.
      const body = status === 500 ? { code: 'internal-error', message: 'internal error' } : error.toJSON();
      // An outage (the store, Taskcluster, an unreachable upstream) says when to try again.
      if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '10');
      return uncacheable(reply).status(status).send(body);
    });
    app.setNotFoundHandler((request, reply) =>
      uncacheable(reply)
        .status(404)
        .send({ code: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
    );
  },
  { name: 'error-handler' },
);
