import { pipeline } from 'node:stream/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_BUILDER_IMAGE } from '../context/digest.ts';
import { HashPool } from '../context/hash-thread.ts';
import { HASH_ALGORITHMS, type HashAlgorithm } from '../context/context-hash.ts';
import { ContextHasher } from '../context/hasher.ts';
import { parseLevel, isLevel, type Level } from '../domain/index.ts';
import { DeciderError, isDeciderError } from '../errors.ts';
import { GraphBuilder } from '../graph/build-graph.ts';
import { decideForCli } from './decide.ts';
import { recordGraphManifests } from '../decision/explain.ts';
import { baseVersions, changesText } from './explain.ts';
import { graphJson, graphTable } from './format.ts';
import { openSource } from './open-source.ts';

export const EXIT_OK = 0;
export const EXIT_UNREADABLE = 1;
export const EXIT_USAGE = 2;

interface CommonOptions {
  repo: string;
  rev?: string;
  level: Level;
  pr?: boolean;
  algorithm: HashAlgorithm;
  builderImage: string;
  runTaskDir?: string;
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

function common(command: Command): Command {
  return command
    .requiredOption('--repo <path>', 'git repository (bare or not) or plain folder')
    .option('--rev <rev>', 'revision: sha, branch or tag (default: HEAD; a plain folder is read from disk)')
    .option('--level <1-3>', 'trust level of the push', levelOption, parseLevel(3))
    .option('--pr', 'a pull request: also look up and write the PR cache path')
    .addOption(new Option('--algorithm <name>', 'context hash algorithm').choices(HASH_ALGORITHMS).default('taskgraph'))
    .option('--builder-image <ref>', 'image_builder reference (part of every digest)', DEFAULT_BUILDER_IMAGE)
    .option('--run-task-dir <folder>', 'folder with the run-task files for # %include-run-task')
    .option('--trust-domain <name>', 'override taskcluster/config.yml trust-domain (index prefix)')
    .option('--project <name>', 'project name for seed-v1 index paths');
}

/**
 * The graph of the source (and, with `since`, of that revision first, by the same hasher);
 * `close` ends the sources, the hasher and its hashing threads.
 */
async function buildGraph(options: CommonOptions, since?: string, runAt: Date = new Date()) {
  const pool = new HashPool();
  const hasher = new ContextHasher({ runTaskDir: options.runTaskDir ?? null, pool });
  const builder = new GraphBuilder(hasher);
  const opened: { close(): Promise<void> }[] = [];
  const close = async () => {
    for (const s of opened) await s.close();
    await hasher.close();
    await pool.close();
  };
  const graphOf = async (rev: string | undefined) => {
    const source = await openSource(options.repo, rev);
    opened.push(source);
    const graph = await builder.build(source.tree, {
      level: options.level,
      pullRequest: options.pr ?? false,
      algorithm: options.algorithm,
      builderImage: options.builderImage,
      // The run's time, as taskgraph's `build_date` is the decision task's: not the commit's date.
      pushDate: runAt,
      trustDomain: options.trustDomain ?? null,
      project: options.project,
    });
    return { graph, source };
  };
  try {
    const base = since === undefined ? null : await graphOf(since);
    const { graph, source } = await graphOf(options.rev);
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
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
    .showHelpAfterError();

  common(cli.command('graph').description('list the images of a revision with context hashes, digests and index paths'))
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
      const changes = base ? await baseVersions(base.graph, base.source.date, options) : undefined;
      if (changes) await recordGraphManifests(changes, graph, new Date());
      const record = await decideForCli(graph, runAt, { ...options, ...(changes ? { changes } : {}) });
      out.write(
        options.json
          ? `${JSON.stringify(graphJson(options.repo, graph, record, { definitions: options.definitions ?? false }), null, 2)}\n`
          : `${graphTable(options.repo, graph, record)}\n${since ? `\n${changesText(record, since)}\n` : ''}`,
      );
    });

  common(cli.command('context').description('write the gzipped context tarball of one image to stdout'))
    .argument('<image>', 'image name')
    .action(async (image: string, options: CommonOptions) => {
      const { graph, builder, source, close } = await buildGraph(options);
      try {
        const node = graph.images.find((i) => i.name === image);
        if (!node) throw new DeciderError('unknown-image', `no image named ${image} in ${options.repo}`);
        if (node.kind !== 'build') {
          throw node.error
            ? new DeciderError(node.error.code, `${image}: ${node.error.message}`)
            : new DeciderError('bad-request', `${image}: a ${node.kind} image has no context to build`);
        }
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
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    // Naming an image the repository lacks is the caller's mistake, like a bad option.
    if (isDeciderError(e) && e.code === 'unknown-image') {
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
}
