import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OFFLINE_ENV } from './cli.ts';
import { startCommand } from './start-command.ts';

const SERVER = resolve(import.meta.dirname, '../../src/server.ts');
const ROOT = resolve(import.meta.dirname, '../..');
/** `npm start`'s command line (`[NAME=value...] node <options> dist/src/server.js`): what operators run, options and all. */
const START = startCommand();

export interface ServerProcessOptions {
  readonly dir: string;
  readonly port: number;
  readonly repoDir: string;
  readonly databaseUrl: string;
  readonly rootUrl: string;
  readonly workerId: string;
  readonly dataDir: string;
  /** Runs the compiled build (`npm run build`), as `npm start` does, rather than the sources through tsx. */
  readonly compiled?: boolean;
  /** More environment, e.g. `IMAGE_DECIDER_WORKER_CONCURRENCY`. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The real service as a separate process (`src/server.ts`), as operators run it. */
export class ServerProcess {
  output = '';

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout?.on('data', (c: Buffer) => (this.output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (this.output += c.toString()));
  }

  static async start(options: ServerProcessOptions): Promise<ServerProcess> {
    const config = join(options.dir, `config-${options.workerId}.yml`);
    await writeFile(
      config,
      `port: ${options.port}\nhost: 127.0.0.1\npublicUrl: http://127.0.0.1:${options.port}\nallowLoopbackPublicUrl: true\ndataDir: ${options.dataDir}\nrepositories:\n  - name: acme\n    url: ${options.repoDir}\n    webUrl: https://github.com/acme/acme\n    webhookSecretEnv: ACME_SECRET\n`,
    );
    const env = {
      ...OFFLINE_ENV,
      ACME_SECRET: 'It is a secret to everybody',
      DATABASE_URL: options.databaseUrl,
      TASKCLUSTER_ROOT_URL: options.rootUrl,
      TASKCLUSTER_CLIENT_ID: 'server',
      TASKCLUSTER_ACCESS_TOKEN: 'server-token',
      IMAGE_DECIDER_WORKER_ID: options.workerId,
      LOG_LEVEL: 'info',
      ...(options.compiled ? START.env : {}),
      ...options.env,
    };
    const entry = options.compiled ? START.argv.slice(1) : ['--import', 'tsx', SERVER];
    const child = spawn(process.execPath, [...entry, '--config', config], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const server = new ServerProcess(child, `http://127.0.0.1:${options.port}`);
    const deadline = Date.now() + 30_000;
    while (!server.output.includes('image-decider is serving')) {
      if (child.exitCode !== null) throw new Error(`the server exited ${child.exitCode}:\n${server.output}`);
      if (Date.now() > deadline) throw new Error(`the server did not start:\n${server.output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return server;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill(signal);
    await once(this.child, 'exit');
  }
}
