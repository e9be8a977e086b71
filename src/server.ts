import { parseArgs } from 'node:util';
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import { buildApp } from './app.ts';
import { loadConfig } from './config/load.ts';
import { DeciderError, isDeciderError } from './errors.ts';
import { prepareExample, queueExampleHead } from './service/example.ts';
import { createService } from './service/service.ts';

/** Headers and fields that carry secrets: never logged. */
export const REDACT = [
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-gitlab-token"]',
  '*.accessToken',
  '*.webhookSecret',
  '*.adminToken',
  '*.genericToken',
];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  let config = await loadConfig({ file: values.config ?? null });
  if (config.example) config = await loadConfig({ file: null, exampleRepository: await prepareExample(config.dataDir) });
  const log = pino({ level: config.logLevel, redact: { paths: REDACT, censor: '[redacted]' } });
  // Dry or live, and why, before anything else: a shell's stray TASKCLUSTER_ROOT_URL shows here.
  log.info({ dryRun: !config.taskcluster }, config.mode);
  const service = await createService(config, log);
  const app = await buildApp(service);
  closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, 'stopping after an error');
    else log.info({ signal }, 'stopping: finishing requests and the current decisions');
    await app.close();
    await service.close();
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    const why = code === 'EADDRINUSE' ? 'is in use by another process' : 'needs privileges this process lacks';
    throw new DeciderError(
      'bad-config',
      `cannot listen on port ${config.port} (host ${config.host}): it ${why}; stop that process, or choose another port with the config key \`port\` or the PORT variable`,
    );
  }
  if (config.example) await queueExampleHead(service, config.repositories[0]!.name);
  // Intake-only processes (workerConcurrency 0) leave deciding to others on the same database.
  if (config.workerConcurrency > 0) await service.worker.start();
  log.info(
    {
      publicUrl: config.publicUrl,
      repositories: config.repositories.map((r) => r.name),
      dryRun: !config.taskcluster,
      store: config.databaseUrl ? 'postgresql' : 'pglite',
      example: config.example,
      deciding: config.workerConcurrency,
    },
    'image-decider is serving',
  );
}

main().catch((err: unknown) => {
  // Start-up errors (configuration, template, store) are the operator's to fix: say which, plainly.
  process.stderr.write(`image-decider: ${isDeciderError(err) ? `${err.code}: ${err.message}` : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
});
