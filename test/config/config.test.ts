import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { tempDir } from '../support/temp.ts';

describe('configuration', () => {
  let dir: string;
  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const refused = async (text: string, env: NodeJS.ProcessEnv, message: RegExp) => {
    const path = await file(`c-${Math.random().toString(36).slice(2)}.yml`, text);
    await assert.rejects(loadConfig({ file: path, env }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'bad-config');
      assert.match(err.message, message);
      return true;
    });
  };

  before(async () => {
    dir = await tempDir();
  });

  it('reads a file, resolves relative paths from it, and applies environment overrides', async () => {
    const path = await file(
      'good.yml',
      'port: 9000\ndataDir: state\nrepositories:\n  - name: gecko\n    url: ./gecko\n    webhookSecretEnv: GECKO_SECRET\n    levels: {main: 3, "release/*": 3}\n    defaultLevel: null\n    provisionerId: gecko-3\n    workerType: images\n',
    );
    const env = {
      GECKO_SECRET: 's3cret',
      PORT: '9100',
      PUBLIC_URL: 'https://images.example.com/',
      DATABASE_URL: 'postgres://db/x',
      IMAGE_DECIDER_ADMIN_TOKEN: 'adm',
      IMAGE_DECIDER_WORKER_CONCURRENCY: '0',
    };
    const config = await loadConfig({ file: path, env });
    assert.equal(config.port, 9100);
    assert.equal(config.publicUrl, 'https://images.example.com');
    assert.equal(config.dataDir, join(dir, 'state'));
    assert.equal(config.databaseUrl, 'postgres://db/x');
    assert.equal(config.adminToken, 'adm');
    assert.equal(config.workerConcurrency, 0, 'an intake-only process');
    assert.equal(config.taskcluster, null, 'no TASKCLUSTER_ROOT_URL: dry run');
    const [repo] = config.repositories;
    assert.equal(repo!.url, join(dir, 'gecko'));
    assert.equal(repo!.webhookSecret, 's3cret');
    assert.equal(repo!.taskQueueId, 'gecko-3/images');
    assert.equal(repo!.defaultLevel, null);
    assert.deepEqual(repo!.levels, [
      ['main', 3],
      ['release/*', 3],
    ]);
    assert.equal(config.example, false);
  });

  it('keeps credentials out of every URL that leaves the process, and takes fetch credentials from the environment', async () => {
    const dir = await tempDir();
    const path = join(dir, 'c.yml');
    const repos = [
      '  - name: a\n    url: https://bot:hunter2@git.example.com/a.git\n',
      '  - name: b\n    url: https://git.example.com/b.git\n    webUrl: https://bot:hunter2@git.example.com/b\n    fetchCredentialsEnv: B_CREDENTIALS\n',
    ];
    await writeFile(path, `repositories:\n${repos.join('')}`);
    const config = await loadConfig({ file: path, env: { B_CREDENTIALS: 'x-access-token:ghs_secret' } });
    const [a, b] = config.repositories;
    assert.equal(a!.webUrl, 'https://git.example.com/a.git');
    assert.equal(a!.url, 'https://bot:hunter2@git.example.com/a.git', 'git is given the URL as configured');
    assert.equal(a!.fetchCredentials, null);
    assert.equal(b!.webUrl, 'https://git.example.com/b');
    assert.deepEqual(b!.fetchCredentials, { username: 'x-access-token', password: 'ghs_secret' });
  });

  it('refuses a bad file with an error naming the field', async () => {
    const repo = '  - name: acme\n    url: /x\n';
    await refused(`repositories:\n${repo}    colour: blue\n`, {}, /repositories\.0 must NOT have additional properties: colour/);
    await refused(`port: eighty\nrepositories:\n${repo}`, {}, /port must be integer/);
    await refused('repositories: []\n', {}, /repositories must NOT have fewer than 1 items/);
    await refused(`repositories:\n${repo}${repo}`, {}, /acme is listed twice/);
    await refused(`repositories:\n${repo}    webhookSecretEnv: MISSING_SECRET\n`, {}, /MISSING_SECRET is not set/);
    await refused(`repositories:\n${repo}    levels: {main: 4}\n`, {}, /levels\.main must be <= 3/);
    await refused(`repositories:\n${repo}    provisionerId: p\n`, {}, /provisionerId and workerType go together/);
    await refused('repositories: [\n', {}, /cannot read configuration/);
    await refused(`repositories:\n${repo}`, { PORT: 'abc' }, /PORT must be a whole number/);
    await refused(`workerConcurrency: 0\nrepositories:\n${repo}`, {}, /intake-only process \(workerConcurrency 0\) needs DATABASE_URL/);
    await refused(`repositories:\n${repo}`, { IMAGE_DECIDER_WORKER_CONCURRENCY: '65', DATABASE_URL: 'postgres://db/x' }, /at most 64/);
    await refused(`repositories:\n${repo}    fetchCredentialsEnv: NOT_SET\n`, {}, /fetchCredentialsEnv: the variable NOT_SET is not set/);
    await refused(`repositories:\n${repo}    fetchCredentialsEnv: SET\n`, { SET: 'a:b' }, /credentials are for http\(s\) URLs only/);
    await refused(`repositories:\n  - name: h\n    url: https://h/x\n    fetchCredentialsEnv: SET\n`, { SET: 'token-only' }, /must hold user:password/);
  });

  it('lists the allowed values of an enum once, not "must be equal to constant" per value', async () => {
    const repo = '  - name: acme\n    url: /x\n';
    await refused(`logLevel: loud\nrepositories:\n${repo}`, {}, /^configuration \S+: logLevel must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"$/);
    await refused(`repositories:\n${repo}    hashAlgorithm: md5\n`, {}, /^configuration \S+: repositories\.0\.hashAlgorithm must be one of "taskgraph", "seed-v1"$/);
  });

  it('live (TASKCLUSTER_ROOT_URL) refuses a missing or loopback publicUrl unless allowLoopbackPublicUrl says so', async () => {
    const repo = 'repositories:\n  - name: acme\n    url: /x\n';
    const live = { TASKCLUSTER_ROOT_URL: 'https://tc.example.com' };
    await refused(repo, live, /TASKCLUSTER_ROOT_URL is set \(live\), but publicUrl is not set \(it would be http:\/\/localhost:8080\): builders fetch/);
    for (const url of ['http://localhost:8080', 'http://127.0.0.1:9000', 'http://[::1]:80'])
      await refused(`publicUrl: ${url}\n${repo}`, live, /publicUrl \S+ is a loopback address/);
    await refused(repo, { ...live, PUBLIC_URL: 'http://127.0.0.1:1' }, /is a loopback address/);
    const allowed = await loadConfig({ file: await file('loop.yml', `publicUrl: http://127.0.0.1:9000\nallowLoopbackPublicUrl: true\n${repo}`), env: live });
    assert.equal(allowed.taskcluster?.rootUrl, 'https://tc.example.com');
    const real = await loadConfig({ file: await file('real.yml', `publicUrl: https://images.example.com\n${repo}`), env: live });
    assert.equal(real.taskcluster?.rootUrl, 'https://tc.example.com');
    assert.match(real.mode, /^live: TASKCLUSTER_ROOT_URL is https:\/\/tc\.example\.com, builders fetch contexts from https:\/\/images\.example\.com$/);
    const dry = await loadConfig({ file: await file('dry.yml', repo), env: {} });
    assert.deepEqual([dry.taskcluster, dry.mode], [null, 'dry run: TASKCLUSTER_ROOT_URL is not set']);
  });

  it('the bundled example stays dry when the shell exports TASKCLUSTER_ROOT_URL, and says why', async () => {
    const config = await loadConfig({ file: null, env: { TASKCLUSTER_ROOT_URL: 'https://tc.example.com' }, exampleRepository: '/data/examples/acme' });
    assert.equal(config.taskcluster, null);
    assert.match(config.mode, /^dry run: no configuration file, serving the bundled example \(TASKCLUSTER_ROOT_URL is ignored/);
  });

  it('without a file, serves the bundled example', async () => {
    const config = await loadConfig({ file: null, env: {}, exampleRepository: '/data/examples/acme' });
    assert.equal(config.example, true);
    assert.deepEqual(
      config.repositories.map((r) => [r.name, r.url]),
      [['acme', '/data/examples/acme']],
    );
    assert.equal(config.port, 8080);
  });
});
