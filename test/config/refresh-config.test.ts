import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { tempDir } from '../support/temp.ts';

const REPO = 'repositories:\n  - name: acme\n    url: ./acme\n';

async function load(text: string) {
  const path = join(await tempDir(), 'config.yml');
  await writeFile(path, text);
  return loadConfig({ file: path, env: {} });
}

describe('configuration: refresh of images close to expiry', () => {
  it('defaults to a pass every 60 minutes and a 30-day window; both may be set', async () => {
    assert.deepEqual((await load(REPO)).refresh, { intervalMinutes: 60, windowDays: 30 });
    assert.deepEqual((await load(`refresh:\n  intervalMinutes: 0.5\n  windowDays: 45\n${REPO}`)).refresh, { intervalMinutes: 0.5, windowDays: 45 });
  });

  it('refuses an unknown key, a zero interval, and a window no longer than the deadline (pushes rebuild within it anyway)', async () => {
    const refused = async (text: string, message: RegExp) =>
      assert.rejects(load(text + REPO), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'bad-config');
        assert.match(err.message, message);
        return true;
      });
    await refused('refresh:\n  days: 3\n', /refresh must NOT have additional properties: days/);
    await refused('refresh:\n  intervalMinutes: 0\n', /refresh\.intervalMinutes must be > 0/);
    await refused('deadlineMinutes: 7200\nrefresh:\n  windowDays: 5\n', /refresh\.windowDays \(5\) must be longer than deadlineMinutes \(7200\)/);
  });
});
