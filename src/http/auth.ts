import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DeciderError } from '../errors.ts';

/** Constant-time equality of two secrets of any length (their digests are compared). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/** GitHub's `X-Hub-Signature-256`: `sha256=` and the hex HMAC-SHA256 of the raw body. */
export function githubSignatureValid(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(body).digest('hex');
  return secretsEqual(header.slice('sha256='.length).toLowerCase(), expected);
}

/** Throws `unauthorized` unless the request carries `Authorization: Bearer <token>`. */
export function requireBearer(request: FastifyRequest, token: string | null, what: string): void {
  if (!token) throw new DeciderError('unauthorized', `${what} is disabled: no token is configured`);
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  if (!given || !secretsEqual(given, token)) throw new DeciderError('unauthorized', `${what} needs a valid bearer token`);
}
