import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadCatalog } from '../../src/catalog/load.ts';
import { DEFAULT_BUILDER_IMAGE } from '../../src/context/digest.ts';
import { ContextHasher } from '../../src/context/hasher.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { GraphBuilder } from '../../src/graph/build-graph.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import type { ContentSink, TreeEntry } from '../../src/tree/types.ts';
import { tempDir } from '../support/temp.ts';
import { taskgraphRepo, writeTree } from '../support/trees.ts';

const CODES = new Set<string>(ERROR_CODES);
const OPTIONS = { level: 3, pullRequest: false, algorithm: 'taskgraph', builderImage: DEFAULT_BUILDER_IMAGE, pushDate: new Date(0) } as const;

/** A folder tree that fails the test if it is ever asked for a path that is not plainly inside it. */
class GuardedTree extends DirectoryTree {
  private check(path: string): void {
    const parts = path.split('/');
    if (path.startsWith('/') || path.includes('\0') || parts.includes('..') || parts.includes('.') || (path !== '' && parts.includes(''))) {
      throw new assert.AssertionError({ message: `asked for ${JSON.stringify(path)}, outside or not normalised` });
    }
  }
  override lstat(path: string) {
    this.check(path);
    return super.lstat(path);
  }
  override list(path: string) {
    this.check(path);
    return super.list(path);
  }
  override readFile(path: string) {
    this.check(path);
    return super.readFile(path);
  }
  override readLink(path: string) {
    this.check(path);
    return super.readLink(path);
  }
  override sendFile(path: string, entry: TreeEntry, sink: ContentSink) {
    this.check(path);
    return super.sendFile(path, entry, sink);
  }
}

const oddPath = fc.oneof(
  fc.constantFrom(
    '../outside.txt',
    '/etc/hostname',
    'a/../../outside.txt',
    './',
    '.',
    '..',
    'docs/../..',
    'docs//README.md',
    'docs/README.md\0x',
    '~',
    '$HOME',
    '\\..\\outside.txt',
    'link-out/secret',
    'docs/',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 300 }),
);
const line = fc.oneof(
  oddPath.map((p) => `# %include ${p}`),
  fc.string({ unit: 'binary', maxLength: 30 }).map((n) => `# %ARG ${n}`),
  fc.constantFrom('# %include-run-task', '# %include', '# %ARG', 'FROM debian', 'RUN echo $NAME', `RUN ${'x'.repeat(100_000)}`, '\0\0\0', '# %include docs/README.md'),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

describe('hostile trees', () => {
  it('odd %include and %ARG lines give a hash or a coded error, and never reach outside the repository', async () => {
    const root = await tempDir();
    await writeFile(join(root, 'outside.txt'), 'secret outside the repository\n');
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 8 }),
        fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }),
        async (lines, args) => {
          const repo = join(root, `r${Math.random().toString(36).slice(2)}`);
          await writeTree(
            repo,
            taskgraphRepo(`tasks:\n  img:\n    args: ${JSON.stringify(args)}\n`, {
              'taskcluster/docker/img/Dockerfile': Buffer.from(lines.join('\n')),
              'docs/README.md': 'docs\n',
              'link-out': { link: '..' },
            }),
          );
          const graph = await new GraphBuilder(new ContextHasher()).build(new GuardedTree(repo), OPTIONS);
          const img = graph.images.find((i) => i.name === 'img')!;
          if (img.kind === 'build') assert.match(img.contextHash!, /^[0-9a-f]{64}$/);
          else assert.ok(img.error && CODES.has(img.error.code), JSON.stringify(img));
        },
      ),
      { numRuns: 120 },
    );
  });

  it('kind files of any shape give a catalog or a bad-kind-file error, never a crash', async () => {
    const value = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }));
    const task = fc.dictionary(
      fc.constantFrom('parent', 'args', 'definition', 'symbol', 'packages', 'index', 'cache', 'x'),
      fc.oneof(value, fc.dictionary(fc.string({ maxLength: 5 }), value, { maxKeys: 3 })),
      { maxKeys: 4 },
    );
    const kind = fc.oneof(
      fc
        .dictionary(
          fc.constantFrom('tasks', 'jobs', 'task-defaults', 'job-defaults', 'loader'),
          fc.oneof(value, fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(task, value), { maxKeys: 3 })),
          { maxKeys: 3 },
        )
        .map((d) => JSON.stringify(d)),
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.constantFrom('tasks: [', 'tasks: !!js/function "x"', '&a [*a]', 'a: &a\n  b: *a\n', '- - - -', `tasks:\n${'  '.repeat(500)}x: 1`),
    );
    const root = await tempDir();
    await fc.assert(
      fc.asyncProperty(kind, async (text) => {
        const repo = await writeTree(
          join(root, `k${Math.random().toString(36).slice(2)}`),
          taskgraphRepo(text, { 'taskcluster/docker/a/Dockerfile': 'FROM x\n', 'taskcluster/docker/b/Dockerfile': 'FROM x\n' }),
        );
        try {
          const catalog = await loadCatalog(new DirectoryTree(repo));
          for (const image of catalog.images) if (image.error) assert.ok(CODES.has(image.error.code));
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'bad-kind-file', String(err));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('a kind file with 10,000 images in one parent chain, and one long cycle, is ordered in bounded time', async () => {
    const repo = await tempDir();
    const n = 10_000;
    const tasks = Array.from({ length: n }, (_, i) => `  i${i}: {definition: shared${i > 0 ? `, parent: i${i - 1}` : ''}}`);
    const cycle = Array.from({ length: 2_000 }, (_, i) => `  c${i}: {definition: shared, parent: c${(i + 1) % 2000}}`);
    await mkdir(join(repo, 'taskcluster/docker/shared'), { recursive: true });
    await writeTree(repo, taskgraphRepo(`tasks:\n${[...tasks, ...cycle].join('\n')}\n`, { 'taskcluster/docker/shared/Dockerfile': 'FROM x\n' }));
    const started = performance.now();
    // Over the default limit of images per revision: the ordering itself is under test here.
    const catalog = await loadCatalog(new DirectoryTree(repo), { kindFileBytes: 1 << 24, images: 20_000 });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(catalog.images.length, n + 2000);
    assert.deepEqual(
      catalog.images.slice(0, 3).map((i) => i.name),
      ['i0', 'i1', 'i2'],
    );
    assert.equal(catalog.images.at(-1)!.error?.code, 'parent-cycle');
    assert.match(catalog.images.at(-1)!.error!.message, /-> … \(2000 images\) -> c\d+$/);
    assert.ok(seconds < 5, `${seconds} s`);
  });
});
