import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { ErrorCode } from '../errors.ts';

const ANSWERS: Record<string, [status: number, reason: string, code: ErrorCode, message: string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout', 'request-timeout', 'the request was not received whole in time'],
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large', 'payload-too-large', 'the request headers are too large'],
};
const MALFORMED: (typeof ANSWERS)[string] = [
  400,
  'Bad Request',
  'bad-request',
  'the request is not valid HTTP (a header holds a character HTTP does not allow, or the framing is broken)',
];

/**
 * Answers what Node's HTTP parser refuses (a NUL in a header, broken framing, a request that
 * never arrives whole): such a request never reaches Fastify's error handler, and Fastify's
 * own answer is Node's `{error, message, statusCode}`, not our `{code, message}`.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket, log: FastifyBaseLogger): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code, message] = ANSWERS[err.code ?? ''] ?? MALFORMED;
  log.info({ code: err.code, status }, 'client error');
  const body = JSON.stringify({ code, message });
  const answer = `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
  // Closed at once, as Node and Fastify do: a client trickling its body would keep it open.
  socket.write(answer);
  socket.destroy();
}
