import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { type Copy, DockerfileParser, type Env } from 'dockerfile-ast';
import { startCommand } from '../support/start-command.ts';
import { validate } from 'dockerfile-utils';

const ROOT = resolve(import.meta.dirname, '../..');

// No Docker engine runs here: the image is checked by a Dockerfile linter and by reading it.
describe('Dockerfile', async () => {
  const text = await readFile(resolve(ROOT, 'Dockerfile'), 'utf8');
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const final = (keyword: string) => {
    const lastFrom = dockerfile.getFROMs().at(-1)!.getRange().start.line;
    return instructions.filter((i) => i.getKeyword() === keyword && i.getRange().start.line > lastFrom);
  };

  it('has no linter diagnostics', () => {
    assert.deepEqual(
      validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`),
      [],
    );
  });

  it('is multi-stage, runs as a non-root user, installs git, and checks /health', () => {
    assert.ok(dockerfile.getFROMs().length >= 2, 'multi-stage');
    const user = final('USER');
    assert.equal(user.length, 1);
    assert.notEqual(user[0]!.getArgumentsContent(), 'root');
    assert.ok(
      final('RUN').some((r) => /apt-get install[^&]*\bgit\b/.test(r.getArgumentsContent() ?? '')),
      'git in the final image',
    );
    const healthcheck = final('HEALTHCHECK');
    assert.equal(healthcheck.length, 1);
    assert.match(healthcheck[0]!.getArgumentsContent() ?? '', /\/health/);
  });

  it('copies only what exists and what the service needs', () => {
    for (const copy of final('COPY')) {
      const args = copy.getArguments().map((a) => a.getValue());
      if ((copy as Copy).getFromFlag()) continue;
      for (const source of args.slice(0, -1)) assert.ok(existsSync(resolve(ROOT, source)), `${source} exists`);
    }
    const copied = final('COPY').flatMap((c) => c.getArguments().map((a) => a.getValue()));
    for (const needed of ['/app/dist', 'src', 'templates', 'examples', 'package.json']) assert.ok(copied.includes(needed), needed);
  });

  it('runs the compiled service with the options and environment npm start gives it', () => {
    const start = startCommand();
    const cmd = final('CMD');
    assert.equal(cmd.length, 1);
    assert.deepEqual(JSON.parse(cmd[0]!.getArgumentsContent()!), start.argv);
    const env = Object.fromEntries(final('ENV').flatMap((e) => (e as Env).getProperties().map((p) => [p.getName(), p.getValue()])));
    for (const [name, value] of Object.entries(start.env)) assert.equal(env[name], value, name);
  });
});

describe('the Dockerfile HEALTHCHECK', async () => {
  const dockerfile = DockerfileParser.parse(await readFile(resolve(ROOT, 'Dockerfile'), 'utf8'));
  const check = dockerfile.getInstructions().find((i) => i.getKeyword() === 'HEALTHCHECK')!;
  const command = JSON.parse(/CMD\s+(\[.*\])\s*$/s.exec(check.getArgumentsContent()!)![1]!) as string[];

  it('asks /health on the port the image runs the service on (PORT), not a fixed one', async () => {
    const server = createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const run = (env: NodeJS.ProcessEnv) =>
        new Promise<number | null>((done) => execFile(command[0]!, command.slice(1), { env: { ...process.env, ...env } }).on('exit', (code) => done(code)));
      assert.equal(await run({ PORT: String(port) }), 0, 'healthy on the configured port');
      server.close();
      await once(server, 'close');
      assert.equal(await run({ PORT: String(port) }), 1, 'unhealthy once nothing answers there');
    } finally {
      if (server.listening) server.close();
    }
  });
});
