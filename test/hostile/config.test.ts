import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import yaml from 'js-yaml';
import { loadConfig } from '../../src/config/load.ts';
import { tempDir } from '../support/temp.ts';

describe('hostile configuration files', () => {
  it('any file gives a configuration or a bad-config error naming the problem, never a crash', async () => {
    const dir = await tempDir();
    const value = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 4 }), { maxLength: 2 }));
    const repo = fc.dictionary(
      fc.constantFrom('name', 'url', 'webhookSecretEnv', 'levels', 'defaultLevel', 'hashAlgorithm', 'taskQueueId', 'provisionerId', 'workerType', 'template', 'x'),
      fc.oneof(value, fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 2 })),
      { maxKeys: 6 },
    );
    const file = fc.oneof(
      fc
        .dictionary(fc.constantFrom('port', 'host', 'publicUrl', 'dataDir', 'repositories', 'deadlineMinutes', 'colour'), fc.oneof(value, fc.array(repo, { maxLength: 3 })), {
          maxKeys: 4,
        })
        .map((d) => yaml.dump(d)),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom('', '---\n', 'repositories: !!binary x', 'a: &a [*a, *a]', `${'['.repeat(5000)}`),
    );
    await fc.assert(
      fc.asyncProperty(file, async (text) => {
        const path = join(dir, `c${Math.random().toString(36).slice(2)}.yml`);
        await writeFile(path, text);
        try {
          const config = await loadConfig({ file: path, env: {} });
          assert.ok(config.repositories.length > 0);
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'bad-config', String(err));
          assert.ok((err as Error).message.length > 0);
        }
      }),
      { numRuns: 200 },
    );
  });
});
