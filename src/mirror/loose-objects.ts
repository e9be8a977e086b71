import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { ObjectTooLargeError } from '../tree/git-batch.ts';
import { applyDelta, type GitObject, MAX_INFLATED, NeedsIndexPack, OFS_DELTA, type PackEntry, parsePack, REF_DELTA, TYPES } from './pack.ts';

type Resolved = GitObject & { oid: string };

/** An object of the repository, null when missing; over `maxBytes`, an ObjectTooLargeError (read through, not kept). */
export type ReadBase = (oid: string, maxBytes: number) => Promise<GitObject | null>;

/**
 * Stores a small pack (gitformat-pack(5)) as loose objects, as `git unpack-objects` does,
 * without a process start: a push's pack is a handful of objects, and starting git costs
 * more here than unpacking them. Deltas against objects outside the pack (a thin pack) are
 * resolved with `readBase` (null: not in the repository). The pack's checksum is verified
 * before anything is written. Returns the number of objects written.
 */
export async function writeLooseObjects(pack: Buffer, gitDir: string, readBase: ReadBase): Promise<number> {
  const entries = parsePack(pack);
  let held = 0;
  const hold = (bytes: number) => {
    held += bytes;
    if (held > MAX_INFLATED) throw new NeedsIndexPack('the pack is too large to hold');
  };
  const room = () => MAX_INFLATED - held;
  const byOffset = new Map<number, Resolved>();
  const byOid = new Map<string, GitObject>();
  const resolveEntry = (entry: PackEntry, object: GitObject) => {
    hold(object.data.length);
    const oid = objectId(object);
    byOffset.set(entry.offset, { ...object, oid });
    byOid.set(oid, object);
  };
  let pending = entries.filter((entry) => {
    if (entry.type === OFS_DELTA || entry.type === REF_DELTA) return true;
    resolveEntry(entry, { type: TYPES[entry.type]!, data: entry.data });
    return false;
  });
  const outside = new Set<string>();
  // Bases first: an in-pack base may itself be a delta; some refer outside the pack.
  while (pending.length) {
    const left: PackEntry[] = [];
    for (const entry of pending) {
      const base = entry.baseOffset !== undefined ? byOffset.get(entry.baseOffset) : byOid.get(entry.baseOid!);
      if (base) resolveEntry(entry, { type: base.type, data: applyDelta(base.data, entry.data) });
      else left.push(entry);
    }
    if (left.length === pending.length) await readOneBase(left, outside, byOid, readBase, hold, room());
    pending = left;
  }
  await writeInOrder(gitDir, [...byOffset.values()]);
  return byOffset.size;
}

/** Reads, from the repository, the base of one delta whose base the pack lacks. */
async function readOneBase(
  stuck: PackEntry[], tried: Set<string>, byOid: Map<string, GitObject>, readBase: ReadBase, hold: (bytes: number) => void, room: number,
): Promise<void> {
  for (const { baseOid } of stuck) {
    if (baseOid === undefined || tried.has(baseOid)) continue;
    tried.add(baseOid);
    // A missing one may be an unresolved delta of this pack: another base may start the chain.
    let base: GitObject | null;
    try {
      base = await readBase(baseOid, room);
    } catch (err) {
      // A small push against a large file: git streams it, this would hold it whole.
      if (err instanceof ObjectTooLargeError) throw new NeedsIndexPack('a delta base is too large to hold');
      throw err;
    }
    if (!base) continue;
    hold(base.data.length);
    byOid.set(baseOid, base);
    return;
  }
  throw new NeedsIndexPack('the pack has deltas whose bases are not here');
}

/**
 * Blobs and trees first, then commits parents first, then tags: a commit (or tag) that is
 * present has everything it names, even if writing stops half-way (a crash, a full disk).
 * The mirror trusts exactly that when it checks which tips it already has.
 */
async function writeInOrder(gitDir: string, objects: Resolved[]): Promise<void> {
  await Promise.all(objects.filter((o) => o.type === 'blob' || o.type === 'tree').map((o) => writeLoose(gitDir, o)));
  const linked = new Map(objects.filter((o) => o.type === 'commit' || o.type === 'tag').map((o) => [o.oid, o]));
  const done = new Set<string>();
  const visit = async (object: Resolved): Promise<void> => {
    if (done.has(object.oid)) return;
    done.add(object.oid);
    const header = object.data.toString('latin1', 0, Math.max(0, object.data.indexOf('\n\n')));
    for (const [, oid] of header.matchAll(/^(?:parent|object) ([0-9a-f]{40})$/gm)) {
      const named = linked.get(oid!);
      if (named) await visit(named);
    }
    await writeLoose(gitDir, object);
  };
  for (const object of linked.values()) if (object.type === 'commit') await visit(object);
  for (const object of linked.values()) await visit(object);
}
const objectHeader = (type: string, size: number) => Buffer.from(`${type} ${size}\0`, 'latin1');

function objectId({ type, data }: GitObject): string {
  return createHash('sha1').update(objectHeader(type, data.length)).update(data).digest('hex');
}

/** Written beside its final name, then renamed: a reader never sees half an object. */
async function writeLoose(gitDir: string, { oid, type, data }: Resolved): Promise<void> {
  const dir = join(gitDir, 'objects', oid.slice(0, 2));
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `tmp_obj_${randomBytes(6).toString('hex')}`);
  try {
    await writeFile(temp, deflateSync(Buffer.concat([objectHeader(type, data.length), data]), { level: 1 }), { mode: 0o444 });
    await rename(temp, join(dir, oid.slice(2)));
  } finally {
    await rm(temp, { force: true });
  }
}
