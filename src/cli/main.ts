import { constants } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BUILDER_IMAGE } from '../context/digest.ts';
import { HASH_ALGORITHMS, type HashAlgorithm } from '../context/context-hash.ts';
import { parseLevel, isLevel, type Level } from '../domain/index.ts';
import { DeciderError, isDeciderError } from '../errors.ts';
import { reapChildren } from './children.ts';
import { packageVersion } from './version.ts';

// What a command needs is imported when it runs (`--help` and `--version` load none of it): a
// cold CLI's time is mostly module loading (bench/README.md, the CLI).

/**
 * Bytes the contexts being hashed may hold on the main thread, all together, before the one
 * that would pass them moves to a hashing thread: a thread costs about 25 ms of CPU to start,
 * as much as hashing 40 MB here, and the CLI's process builds one graph, whose contexts are
 * mostly a Dockerfile and a few scripts.
 */
const INLINE_HASH_BYTES = 16 * 1024 * 1024;

export const EXIT_OK = 0;
export const EXIT_UNREADABLE = 1;
export const EXIT_USAGE = 2;

interface SourceOptions {
  repo: string;
  rev?: string;
  runTaskDir?: string;
}

interface CommonOptions extends SourceOptions {
  level: Level;
  pr?: boolean;
  algorithm: HashAlgorithm;
  builderImage: string;
  trustDomain?: string;
  project?: string;
}

interface GraphCommandOptions extends CommonOptions {
  json?: boolean;
  dryRun?: boolean;
  submit?: boolean;
  force?: string;
  withDescendants?: boolean;
  publicUrl?: string;
  repoUrl?: string;
  template?: string;
  definitions?: boolean;
  explain?: boolean;
  since?: string;
}

function levelOption(value: string): Level {
  if (!isLevel(Number(value)) || !/^[123]$/.test(value)) throw new InvalidArgumentError('must be 1, 2 or 3');
  return parseLevel(value);
}

/** What names the files: every command's. */
function sourceOptions(command: Command): Command {
  return command
    .requiredOption('--repo <path>', 'git repository (bare or not) or plain folder')
    .option('--rev <rev>', 'revision: sha, branch or tag (default: HEAD; a plain folder is read from disk)')
    .option('--run-task-dir <folder>', 'folder with the run-task files for # %include-run-task');
}

/** What makes digests, index paths and routes: not a context's bytes, so `graph`'s alone. */
function graphOptions(command: Command): Command {
  return command
    .option('--level <1-3>', 'trust level of the push', levelOption, parseLevel(3))
    .option('--pr', 'a pull request: also look up and write the PR cache path')
    .addOption(new Option('--algorithm <name>', 'context hash algorithm').choices(HASH_ALGORITHMS).default('taskgraph'))
    .option('--builder-image <ref>', 'image_builder reference (part of every digest)', DEFAULT_BUILDER_IMAGE)
    .option('--trust-domain <name>', 'override taskcluster/config.yml trust-domain (index prefix)')
    .option('--project <name>', 'project name for seed-v1 index paths');
}

/** `context`'s graph: the defaults of the options that do not change a context's bytes. */
const CONTEXT_GRAPH = { level: parseLevel(3), algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE } as const;

/**
 * The graph of the source (and, with `since`, of that revision first, by the same hasher);
 * `close` ends the sources, the hasher and its hashing threads.
 */
async function buildGraph(options: CommonOptions, since?: string, runAt: Date = new Date()) {
  const [{ HashPool }, { ContextHasher }, { GraphBuilder }, { openSource }, { includesShared }] = await Promise.all([
    import('../context/hash-thread.ts'),
    import('../context/hasher.ts'),
    import('../graph/build-graph.ts'),
    import('./open-source.ts'),
    import('./spool-choice.ts'),
  ]);
  const opened: { close(): Promise<void> }[] = [];
  const closeSources = async () => {
    for (const s of opened) await s.close();
  };
  const open = async (rev: string | undefined) => {
    const source = await openSource(options.repo, rev);
    opened.push(source);
    return source;
  };
  let source, baseSource, spool;
  try {
    source = await open(options.rev);
    baseSource = since === undefined ? null : await open(since);
    spool = await includesShared(source.tree);
  } catch (err) {
    await closeSources();
    throw err;
  }
  const pool = new HashPool({ inlineBytes: INLINE_HASH_BYTES });
  const hasher = new ContextHasher({ runTaskDir: options.runTaskDir ?? null, pool, ...(spool ? {} : { spoolMaxBytes: 0 }) });
  const builder = new GraphBuilder(hasher);
  const close = async () => {
    await closeSources();
    await hasher.close();
    await pool.close();
  };
  const graphOf = (tree: typeof source.tree, date: Date) =>
    builder.build(tree, {
      level: options.level,
      pullRequest: options.pr ?? false,
      algorithm: options.algorithm,
      builderImage: options.builderImage,
      pushDate: date,
      trustDomain: options.trustDomain ?? null,
      project: options.project,
    });
  try {
    const base = baseSource ? { graph: await graphOf(baseSource.tree, baseSource.date), source: baseSource } : null;
    // The run's time, as taskgraph's `build_date` is the decision task's: not the commit's date.
    const graph = await graphOf(source.tree, runAt);
    if (graph.layout === 'folders' && graph.images.length === 0) {
      throw new DeciderError(
        'unknown-repository',
        `${options.repo}${options.rev ? ` at ${options.rev}` : ''} is no taskgraph repository: it has no taskcluster/kinds/docker-image/kind.yml, taskcluster/ci/docker-image/kind.yml or image folder under taskcluster/docker/`,
      );
    }
    return { graph, builder, source, base, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function program(out: NodeJS.WritableStream, err: NodeJS.WritableStream): Command {
  const cli = new Command('image-decider')
    .description('Decides which in-tree docker images a push needs, with taskgraph-exact context hashes')
    .exitOverride()
    .version(packageVersion(), '-V, --version', 'print the version')
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
    .showHelpAfterError();

  graphOptions(sourceOptions(cli.command('graph')).description('list the images of a revision with context hashes, digests and index paths'))
    .option('--json', 'print one JSON object')
    .option('--dry-run', 'no Index or Queue calls, even when TASKCLUSTER_ROOT_URL is set')
    .option('--submit', 'create the build tasks (live mode only; otherwise builds are a preview)')
    .option('--force <image>', 'rebuild this image whatever the Index holds')
    .option('--with-descendants', 'with --force: rebuild the images built on it too')
    .option('--public-url <url>', 'base URL of the service serving contexts (CONTEXT_URL)')
    .option('--repo-url <url>', 'repository URL for metadata.source and VCS_* (default: file:// path)')
    .option('--template <file>', 'json-e task template (default: templates/docker-image.yml)')
    .option('--definitions', 'with --json: include each new task definition')
    .option('--explain', 'say, for each image built, what changed since --since (files, %ARG values, parent, builder image, algorithm)')
    .option('--since <rev>', 'with --explain: the revision to compare with (default: the first parent of --rev)')
    .action(async (options: GraphCommandOptions) => {
      const since = options.explain ? (options.since ?? `${options.rev ?? 'HEAD'}~1`) : undefined;
      const runAt = new Date();
      const { graph, base, close } = await buildGraph(options, since, runAt);
      await close();
      const [{ decideForCli }, { baseVersions, changesText }, { recordGraphManifests }, { graphJson, graphTable }] = await Promise.all([
        import('./decide.ts'),
        import('./explain.ts'),
        import('../decision/explain.ts'),
        import('./format.ts'),
      ]);
      const changes = base ? await baseVersions(base.graph, base.source.date, options) : undefined;
      if (changes) await recordGraphManifests(changes, graph, new Date());
      const record = await decideForCli(graph, runAt, { ...options, ...(changes ? { changes } : {}) });
      out.write(
        options.json
          ? `${JSON.stringify(graphJson(options.repo, graph, record, { definitions: options.definitions ?? false }), null, 2)}\n`
          : `${graphTable(options.repo, graph, record)}\n${since ? `\n${changesText(record, since)}\n` : ''}`,
      );
    });

  sourceOptions(cli.command('context').description('write the gzipped context tarball of one image to stdout'))
    .argument('<image>', 'image name')
    .action(async (image: string, options: SourceOptions) => {
      const { graph, builder, source, close } = await buildGraph({ ...CONTEXT_GRAPH, ...options });
      try {
        const node = graph.images.find((i) => i.name === image);
        if (!node) throw new DeciderError('unknown-image', `no image named ${image} in ${options.repo}`);
        if (node.kind !== 'build') {
          throw node.error
            ? new DeciderError(node.error.code, `${image}: ${node.error.message}`)
            : new DeciderError('bad-request', `${image}: a ${node.kind} image has no context to build`);
        }
        const { pipeline } = await import('node:stream/promises');
        await pipeline(builder.hasher.gzipStream(source.tree, node), out);
      } finally {
        await close();
      }
    });
  return cli;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  try {
    await program(out, err).parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    return exitCode(e, err);
  }
}

/**
 * The CLI as a process of its own (bin/image-decider.js): `main`, and no child process left
 * behind, at the end or on a signal. Not for a caller that has children of its own: it ends
 * every child of the process.
 */
export async function runAsProcess(argv: string[]): Promise<number> {
  let interrupted = false;
  const stop = (signal: NodeJS.Signals) => {
    interrupted = true;
    // Children first: a signal ends the process at once, and a git left running would be adopted.
    void reapChildren().finally(() => process.exit(128 + constants.signals[signal]));
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.once(signal, stop);
  // What fails because the signal ended git is no error to report.
  const err = { write: (s: string) => interrupted || process.stderr.write(s) } as NodeJS.WritableStream;
  try {
    return await main(argv, process.stdout, err);
  } finally {
    for (const signal of signals) process.off(signal, stop);
    // Every source is closed by now; whatever child is left, the exit must not leave it behind.
    await reapChildren();
  }
}

/** The exit code of what a command threw, its message written to `err`. */
function exitCode(e: unknown, err: NodeJS.WritableStream): number {
  if (e instanceof CommanderError) {
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  // Naming an image the repository lacks, or a folder that is no taskgraph repository, is the
  // caller's mistake, like a bad option.
  if (isDeciderError(e) && (e.code === 'unknown-image' || e.code === 'unknown-repository')) {
    err.write(`error: ${e.message}\n`);
    return EXIT_USAGE;
  }
  if (isDeciderError(e)) {
    err.write(`error: ${e.code}: ${e.message}\n`);
    return EXIT_UNREADABLE;
  }
  err.write(`error: ${(e as Error).message}\n`);
  return EXIT_UNREADABLE;
}
