// Writes openapi.yaml from the app's routes (the example configuration, a throwaway data folder).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino from 'pino';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config/load.ts';
import { prepareExample } from '../src/service/example.ts';
import { createService } from '../src/service/service.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'image-decider-openapi-'));
try {
  const env = { IMAGE_DECIDER_DATA_DIR: dataDir };
  const config = await loadConfig({ file: null, env, exampleRepository: await prepareExample(dataDir) });
  const service = await createService(config, pino({ level: 'silent' }));
  const app = await buildApp(service);
  await app.ready();
  await writeFile(resolve(import.meta.dirname, '../openapi.yaml'), app.swagger({ yaml: true }));
  await app.close();
  await service.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
