import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The shape of mozilla-releng/scriptworker-scripts (issue 25, item 13): 20 images under
 * taskcluster/docker, one of which (`k8s-image` here) `# %include`s the Python packages, a
 * context of about 975 files; the other 19 hold a Dockerfile and a script or two each.
 */
export const SCRIPTWORKER_SHAPE = {
  images: 20,
  /** Packages the big context includes, and their files: 13 × 75 = 975, with its own 2. */
  packages: 13,
  filesPerPackage: 75,
} as const;

/** A small deterministic generator, so every run hashes the same bytes. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = ['def', 'return', 'import', 'self', 'async', 'await', 'task', 'config', 'artifact', 'upstream', 'signing', 'context', 'None', 'raise', 'for', 'in', 'if', 'else'];

/** Python-looking text of about `bytes` bytes (sizes spread like a real package's: mostly small). */
function source(next: () => number, bytes: number): string {
  const lines: string[] = [];
  let length = 0;
  while (length < bytes) {
    const words = Array.from({ length: 3 + Math.floor(next() * 9) }, () => WORDS[Math.floor(next() * WORDS.length)]!);
    const line = `${'    '.repeat(Math.floor(next() * 3))}${words.join(' ')}`;
    lines.push(line);
    length += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

async function put(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/**
 * Writes the repository into `dir` (an empty folder) and commits it: a taskgraph 8 layout
 * (taskcluster/kinds/docker-image/kind.yml), the images parents first (`base` → `python` →
 * each script's image).
 */
export async function generateScriptworkerShaped(dir: string): Promise<void> {
  const next = random(975);
  const kind = ['loader: taskgraph.loader.transform:loader', 'transforms:', '  - taskgraph.transforms.docker_image:transforms', 'tasks:'];
  const packages = Array.from({ length: SCRIPTWORKER_SHAPE.packages }, (_, i) => `script${String(i).padStart(2, '0')}`);
  for (const pkg of packages) {
    for (let f = 0; f < SCRIPTWORKER_SHAPE.filesPerPackage; f++) {
      // Log-uniform 200 B – 40 KB: most files small, a few large, 4–5 MB in all.
      const size = Math.round(200 * 200 ** next());
      const folder = f < 45 ? `src/${pkg}` : `tests/${f % 3 === 0 ? 'data' : 'unit'}`;
      await put(join(dir, pkg, folder, `m${f}.py`), source(next, size));
    }
  }
  const images: { name: string; parent: string | null; dockerfile: string; files: Record<string, string> }[] = [
    { name: 'base', parent: null, dockerfile: 'FROM debian:12\nRUN apt-get update\nCOPY setup.sh /setup.sh\n', files: { 'setup.sh': source(next, 900) } },
    { name: 'python', parent: 'base', dockerfile: 'FROM $DOCKER_IMAGE_PARENT\n# %ARG PYTHON_VERSION\nRUN install-python $PYTHON_VERSION\n', files: {} },
    {
      name: 'k8s-image',
      parent: 'python',
      dockerfile: `FROM $DOCKER_IMAGE_PARENT\n${packages.map((p) => `# %include ${p}\n`).join('')}COPY topsrcdir /app\nCOPY build_and_push.sh /usr/local/bin/\n`,
      files: { 'build_and_push.sh': source(next, 2500), 'requirements.txt': source(next, 1200) },
    },
  ];
  for (let i = images.length; i < SCRIPTWORKER_SHAPE.images; i++) {
    const name = i < 3 + packages.length ? packages[i - 3]! : `tool${i}`;
    images.push({
      name: `${name}-image`,
      parent: 'python',
      dockerfile: `FROM $DOCKER_IMAGE_PARENT\nCOPY run.sh /usr/local/bin/run.sh\nCMD ["/usr/local/bin/run.sh"]\n`,
      files: { 'run.sh': source(next, 300 + Math.floor(next() * 3000)), ...(i % 2 ? { 'config.yml': source(next, 400) } : {}) },
    });
  }
  for (const image of images) {
    const ctx = join(dir, 'taskcluster/docker', image.name);
    await put(join(ctx, 'Dockerfile'), image.dockerfile);
    for (const [name, content] of Object.entries(image.files)) await put(join(ctx, name), content);
    kind.push(`  ${image.name}:`, `    symbol: I(${image.name})`, ...(image.parent ? [`    parent: ${image.parent}`] : []));
    if (image.name === 'python') kind.push('    args:', '      PYTHON_VERSION: "3.11"');
  }
  await put(join(dir, 'taskcluster/kinds/docker-image/kind.yml'), `${kind.join('\n')}\n`);
  await put(join(dir, 'taskcluster/config.yml'), 'trust-domain: scriptworker\ntaskgraph:\n  repositories:\n    scriptworker:\n      name: scriptworker-scripts\n');
  const env = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@example.com', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@example.com' };
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['add', '-A'],
    ['commit', '-q', '-m', 'generated'],
  ])
    execFileSync('git', args, { cwd: dir, env });
}
