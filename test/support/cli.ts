import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const BIN = resolve(import.meta.dirname, '../../bin/image-decider.js');

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** The test process's environment without Taskcluster credentials, so nothing live is reached by accident. */
export const OFFLINE_ENV: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TASKCLUSTER_')));

/** Runs the real `image-decider` executable as a user would. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = OFFLINE_ENV): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }));
  });
}
