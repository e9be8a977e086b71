import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateScriptworkerShaped } from '../../bench/cli/generate.ts';
import { OFFLINE_ENV } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const BIN = resolve(import.meta.dirname, '../../bin/image-decider.js');

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  command: string;
}

/** Every process of process group `group`, alive or a zombie, from /proc. */
function processGroup(group: number): Proc[] {
  const found: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) !== group) continue;
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      found.push({ pid: Number(name), ppid: Number(ppid), state: state!, command });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The CLI in a process group of its own (its pid names the group), as a shell runs a command. */
function startCli(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { env: OFFLINE_ENV, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((done) => child.on('exit', (code, signal) => done({ code, signal, stderr })));
  return { pid: child.pid!, exited };
}

describe('image-decider leaves no process behind', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let repo: string;
  before(async () => {
    repo = join(await tempDir(), 'repo');
    await generateScriptworkerShaped(repo);
  });

  it('when a graph ends: its process group is empty at its exit', async () => {
    for (const args of [
      ['graph', '--repo', repo, '--json'],
      ['context', '--repo', repo, 'k8s-image'],
      ['graph', '--repo', repo, '--rev', 'no-such-rev'],
    ]) {
      const cli = startCli(args);
      const { code } = await cli.exited;
      assert.ok(code === 0 || code === 1, `${args.join(' ')} exited ${code}`);
      assert.deepEqual(processGroup(cli.pid), [], args.join(' '));
    }
  });

  it('when interrupted mid-graph: it ends and reaps its git processes before it exits', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const cli = startCli(['graph', '--repo', repo, '--json']);
      let git: Proc | undefined;
      let ended = false;
      void cli.exited.then(() => (ended = true));
      // Signal it while it reads from git (a `git cat-file` of its own is running).
      while (!git && !ended) {
        git = processGroup(cli.pid).find((p) => p.ppid === cli.pid && p.command.includes('cat-file') && p.state !== 'Z');
        if (!git) await sleep(2);
      }
      assert.ok(git, 'a git cat-file was seen running');
      process.kill(cli.pid, signal);
      const { code, signal: killedBy } = await cli.exited;
      assert.deepEqual(processGroup(cli.pid), [], `${signal}: nothing of the group is left, alive or a zombie`);
      assert.deepEqual({ code, killedBy }, { code: signal === 'SIGINT' ? 130 : 143, killedBy: null }, 'the exit status of a shell command ended by the signal');
    }
  });
});
