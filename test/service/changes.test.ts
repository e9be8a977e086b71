import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import type { ImageChanges, LookupFact } from '../../src/domain/index.ts';
import { TestService, githubHeaders, githubPush } from '../support/app.ts';
import { commitAll } from '../support/vectors.ts';

interface Image {
  decision: string;
  reason: string;
  digest: string | null;
  taskId: string | null;
  facts: LookupFact[];
  changes?: ImageChanges;
}
interface Graph {
  images: Record<string, Image>;
}
interface Spec {
  paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: object }> }> } }>;
  components: object;
}

/** The images that `%include python/acme`: python, and (added here) node-tools and lint. */
const INCLUDERS = ['python', 'node-tools', 'lint'];
const OTHERS = ['base', 'standalone'];

describe('what changed, per image, every push: over HTTP against the fake Taskcluster', () => {
  let svc: TestService;
  const graphs: Graph[] = [];
  const shas: string[] = [];
  let validators: Map<string, ValidateFunction>;

  const get = async <T>(path: string, route: string): Promise<T> => {
    const res = await fetch(`${svc.url}${path}`);
    const body: unknown = await res.json();
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(body)}`);
    const validate = validators.get(route)!;
    assert.ok(validate(body), `${path}: ${JSON.stringify(validate.errors)}`);
    return body as T;
  };
  /** Pushes HEAD of the test repository; returns its graph as /graph shows it. */
  const push = async (message: string): Promise<Graph> => {
    const sha = commitAll(svc.repoDir, message);
    const body = JSON.stringify(githubPush(sha));
    const res = await fetch(`${svc.url}/webhooks/github`, { method: 'POST', body, headers: githubHeaders(body, `changes-${shas.length}`) });
    const { pushId } = (await res.json()) as { pushId: string };
    await svc.waitForPush(pushId, 30_000);
    assert.equal((await svc.service.store.getPush(pushId))?.state, 'decided');
    shas.push(sha);
    const graph = await get<Graph>(`/graph?rev=${sha}`, '/graph');
    graphs.push(graph);
    return graph;
  };
  const completePending = () => {
    for (const task of svc.fake.services.tasks.values()) if (task.state === 'pending') svc.fake.services.complete(task.taskId);
  };
  /** Sizes of util.py before and after its edit. */
  const sizes: number[] = [];
  const edit = async (path: string, change: (text: string) => string) => {
    const file = join(svc.repoDir, path);
    const before = await readFile(file, 'utf8');
    const after = change(before);
    await writeFile(file, after);
    sizes.push(Buffer.byteLength(before), Buffer.byteLength(after));
  };

  before(async () => {
    svc = await TestService.start();
    const spec = (await (await fetch(`${svc.url}/documentation/json`)).json()) as Spec;
    const ajv = new Ajv({ strict: false, allErrors: true });
    validators = new Map(
      ['/graph', '/images/{name}'].map((route) => [
        route,
        ajv.compile({ ...spec.paths[route]!.get.responses['200']!.content['application/json']!.schema, components: spec.components }),
      ]),
    );
    // Three images include one folder: node-tools (a child of base) and lint (of python) as well as python.
    await appendFile(join(svc.repoDir, 'taskcluster/docker/tools/Dockerfile'), '# %include python/acme\n');
    await appendFile(join(svc.repoDir, 'taskcluster/docker/lint/Dockerfile'), '# %include python/acme\n');
    await push('three images include python/acme');
    completePending();
    await edit('python/acme/util.py', (text) => `${text}# changed\n`);
    await push('one included file changes');
    completePending();
    await edit('taskcluster/kinds/docker-image/kind.yml', (text) => text.replace('"3.12"', '"3.13"'));
    await push('an arg changes');
    // python's new build fails; base's indexed task is about to expire.
    svc.fake.services.fail(graphs[2]!.images.python!.taskId!);
    svc.fake.services.setExpires(graphs[0]!.images.base!.taskId!, new Date(svc.fake.now() + 3600_000).toISOString());
    await writeFile(join(svc.repoDir, 'unrelated.txt'), 'no image includes this\n');
    await push('nothing an image holds changes');
  });
  after(() => svc?.close());

  it('the first push: every build is the first known in the repository', () => {
    for (const [name, image] of Object.entries(graphs[0]!.images)) {
      if (image.decision !== 'build') continue;
      assert.equal(image.changes?.kind, 'first', name);
      assert.match(image.reason, /^first build known in acme; no reusable build: /, name);
    }
  });

  it('a push that changes one included file names that file in the reason of every image that includes it, and of no other', async () => {
    const { images } = graphs[1]!;
    for (const name of INCLUDERS) {
      const image = images[name]!;
      assert.equal(image.decision, 'build', name);
      assert.match(image.reason, /1 file changed: python\/acme\/util\.py \(%include python\/acme\)/, name);
      assert.deepEqual(image.changes!.files, {
        added: 0,
        removed: 0,
        changed: 1,
        list: [
          { change: 'changed', path: 'topsrcdir/python/acme/util.py', include: 'python/acme', before: { mode: 0o644, size: sizes[0]! }, after: { mode: 0o644, size: sizes[1]! } },
        ],
      });
      assert.equal(image.changes!.since!.rev, shas[0], name);
      assert.equal(image.changes!.since!.digest, graphs[0]!.images[name]!.digest);
    }
    // lint is also built on a python that changed.
    assert.deepEqual(images.lint!.changes!.parent, { name: 'python', before: graphs[0]!.images.python!.digest, after: images.python!.digest });
    assert.equal(images['node-tools']!.changes!.parent, undefined, 'base did not change');
    for (const name of OTHERS) {
      assert.equal(images[name]!.decision, 'indexed', name);
      assert.doesNotMatch(images[name]!.reason, /util\.py/, name);
      assert.equal(images[name]!.changes, undefined, name);
    }
    // /images/<name> shows the same.
    const python = await get<Image>(`/images/python?rev=${shas[1]}`, '/images/{name}');
    assert.deepEqual(python.changes, images.python!.changes);
  });

  it('an %ARG change names the arg, and the new parent digest propagates to the children', () => {
    const { images } = graphs[2]!;
    const python = images.python!.changes!;
    assert.deepEqual(python.args, { PYTHON_VERSION: { before: '3.12', after: '3.13' } });
    assert.match(images.python!.reason, /%ARG PYTHON_VERSION 3\.12 → 3\.13/);
    assert.deepEqual(python.parent, undefined);
    const lint = images.lint!.changes!;
    assert.deepEqual(lint.parent, { name: 'python', before: graphs[1]!.images.python!.digest, after: images.python!.digest });
    assert.equal(lint.files, undefined, 'lint’s own context is unchanged');
    assert.deepEqual(lint.args, undefined);
    assert.match(images.lint!.reason, /^changed since [0-9a-f]{12}: parent python changed \(digest [0-9a-f]{12} → [0-9a-f]{12}\); /);
    assert.equal(images['node-tools']!.decision, 'indexed');
  });

  it('a build of the same inputs that failed, or that expires too soon, says so instead of a change', () => {
    const { images } = graphs[3]!;
    const python = images.python!;
    assert.equal(python.decision, 'build');
    assert.equal(python.changes!.kind, 'miss');
    assert.match(python.reason, new RegExp(`^no reusable build: in-flight:${python.digest}: task ${graphs[2]!.images.python!.taskId} failed$`));
    assert.equal(python.changes!.files, undefined);
    const base = images.base!;
    assert.equal(base.decision, 'build');
    assert.equal(base.digest, graphs[0]!.images.base!.digest, 'the same inputs as the first push');
    assert.equal(base.changes!.kind, 'miss');
    // Found at its index path and as this service's build: each says why it is not used.
    assert.match(
      base.reason,
      /^no reusable build: \S+: task \S+ expires before the deadline of its dependents(; in-flight:\S+: task \S+ expires before the deadline of its dependents)?$/,
    );
    assert.doesNotMatch(base.reason, /not indexed/);
  });
});
