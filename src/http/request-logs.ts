import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * Routes polled rather than used: the dashboard reads these every few seconds, and monitors
 * scrape /health and /metrics. Their request lines would be most of the log at `info`.
 */
const POLLED = new Set(['/health', '/metrics', '/pushes', '/pushes/:id', '/activity']);

function polled(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && POLLED.has(request.routeOptions.url ?? '');
}

/**
 * Fastify's request lines ("incoming request", "request completed"), at `debug` for a polled
 * route that answers below 400, at Fastify's levels for everything else (an error stays visible).
 */
export class RequestLogs extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (polled(request)) request.log.debug({ req: request }, 'incoming request');
    else super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && reply.statusCode < 400 && polled(request)) reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
    else super.requestCompleted(error, request, reply);
  }
}
