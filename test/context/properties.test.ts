import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ContextHasher } from '../../src/context/hasher.ts';
import { DirectoryTree } from '../../src/tree/directory-tree.ts';
import { compareCodePoints } from '../../src/tree/paths.ts';
import { sourceFor } from '../support/sources.ts';
import { tempDir } from '../support/temp.ts';
import { type FileSpec, writeTree } from '../support/trees.ts';

const CTX = 'taskcluster/docker/img';
const name = fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((n) => n !== '.' && n !== '..' && n !== 'Dockerfile' && n !== '__pycache__');
const file = fc.record({ content: fc.uint8Array({ maxLength: 64 }), exec: fc.boolean() });
const context = fc.dictionary(name, file, { minKeys: 1, maxKeys: 6 });
const argValue = fc.stringMatching(/^[a-zA-Z0-9.]{1,6}$/);

type Ctx = Record<string, { content: Uint8Array; exec: boolean }>;

function files(ctx: Ctx, included: string): Record<string, FileSpec> {
  const out: Record<string, FileSpec> = {
    [`${CTX}/Dockerfile`]: 'FROM x\n# %ARG V\nRUN echo $V\n# %include inc/data\n',
    'inc/data': included,
  };
  for (const [n, f] of Object.entries(ctx)) out[`${CTX}/sub/${n}`] = { content: Buffer.from(f.content), mode: f.exec ? 0o755 : 0o644 };
  return out;
}

async function hashOf(specs: Record<string, FileSpec>, arg: string, order: number[] = []): Promise<string> {
  const dir = await tempDir();
  const entries = Object.entries(specs);
  const ordered = order.length === entries.length ? order.map((i) => entries[i]!) : entries;
  for (const [path, spec] of ordered) await writeTree(dir, { [path]: spec });
  return (await new ContextHasher().hash(new DirectoryTree(dir), { contextDir: CTX, args: { V: arg } })).contextHash;
}

describe('context hash properties', () => {
  it('ignores the order in which files were created, and git and disk agree', async () => {
    await fc.assert(
      fc.asyncProperty(context, argValue, fc.string({ maxLength: 20 }), fc.func(fc.integer()), async (ctx, arg, inc, rank) => {
        const specs = files(ctx, inc);
        const n = Object.keys(specs).length;
        const shuffled = [...Array(n).keys()].sort((a, b) => rank(a) - rank(b) || a - b);
        const a = await hashOf(specs, arg);
        assert.equal(await hashOf(specs, arg, shuffled), a);
        const dir = await writeTree(await tempDir(), specs);
        const git = await sourceFor('git', join(dir));
        assert.equal((await new ContextHasher().hash(git, { contextDir: CTX, args: { V: arg } })).contextHash, a);
      }),
      { numRuns: 15 },
    );
  });

  it('changes when any content byte, mode bit, file name, arg or included file changes', async () => {
    await fc.assert(
      fc.asyncProperty(context, argValue, fc.string({ maxLength: 20 }), fc.nat(), fc.nat(), async (ctx, arg, inc, pick, at) => {
        const base = await hashOf(files(ctx, inc), arg);
        const names = Object.keys(ctx);
        const target = names[pick % names.length]!;
        const f = ctx[target]!;
        const flipped = Uint8Array.from(f.content.length ? f.content : [0]);
        flipped[at % flipped.length] = flipped[at % flipped.length]! ^ 0x01;
        const variants: [string, Ctx, string, string][] = [
          ['content byte', { ...ctx, [target]: { ...f, content: flipped } }, arg, inc],
          ['mode bit', { ...ctx, [target]: { ...f, exec: !f.exec } }, arg, inc],
          ['file name', Object.fromEntries(Object.entries(ctx).map(([k, v]) => [k === target ? `${k}x` : k, v])), arg, inc],
          ['arg', ctx, `${arg}z`, inc],
          ['included file', ctx, arg, `${inc}!`],
        ];
        for (const [what, c, a, i] of variants) {
          if (what === 'file name' && ctx[`${target}x`]) continue;
          assert.notEqual(await hashOf(files(c, i), a), base, what);
        }
      }),
      { numRuns: 25 },
    );
  });
});

describe('archive order', () => {
  it("is Python's str order (code points) for any names, surrogates and lone halves included", () => {
    // A lone half is its own code point, as a name's escaped byte is in Python (surrogateescape).
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: fc.constantFrom('a', '\uffff', '\ud800', '\udc00', '\udcff', '\ud83d\ude00', '\ue000') }),
    );
    const codePoints = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);
    const pyOrder = (a: number[], b: number[]): number => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
      return a.length - b.length;
    };
    fc.assert(
      fc.property(text, text, (a, b) => {
        assert.equal(Math.sign(compareCodePoints(a, b)), Math.sign(pyOrder(codePoints(a), codePoints(b))));
      }),
      { numRuns: 2000 },
    );
  });
});
