import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { ObjectTooLargeError } from '../tree/git-batch.ts';

export interface GitObject {
  type: string;
  data: Buffer;
}

/**
 * This pack is for git to store (`index-pack`): its objects come to more bytes than are held
 * here, or a delta's base is another delta that only a base outside the pack can start.
 */
export class NeedsIndexPack extends Error {}

/** Inflated bytes one small pack may hold in memory (its objects and their delta bases). */
const MAX_INFLATED = 64 << 20;

const TYPES: Record<number, string> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;

interface Entry {
  offset: number;
  type: number;
  /** Inflated content: the object, or a delta against its base. */
  data: Buffer;
  baseOffset?: number;
  baseOid?: string;
}

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
  const resolveEntry = (entry: Entry, object: GitObject) => {
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
    const left: Entry[] = [];
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
  stuck: Entry[], tried: Set<string>, byOid: Map<string, GitObject>, readBase: ReadBase, hold: (bytes: number) => void, room: number,
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

function parsePack(pack: Buffer): Entry[] {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new Error('not a pack');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Error(`pack version ${version}`);
  const body = pack.subarray(0, pack.length - 20);
  if (!createHash('sha1').update(body).digest().equals(pack.subarray(pack.length - 20))) throw new Error('the pack is corrupt (checksum)');
  const entries: Entry[] = [];
  let inflatedBytes = 0;
  let pos = 12;
  for (let i = pack.readUInt32BE(8); i > 0; i--) {
    const offset = pos;
    let byte = body[pos++]!;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    for (let shift = 4; byte & 0x80; shift += 7) {
      byte = body[pos++]!;
      size += (byte & 0x7f) * 2 ** shift;
    }
    const entry: Entry = { offset, type, data: Buffer.alloc(0) };
    if (type === OFS_DELTA) {
      byte = body[pos++]!;
      let distance = byte & 0x7f;
      while (byte & 0x80) {
        byte = body[pos++]!;
        distance = (distance + 1) * 128 + (byte & 0x7f);
      }
      entry.baseOffset = offset - distance;
    } else if (type === REF_DELTA) {
      entry.baseOid = body.toString('hex', pos, pos + 20);
      pos += 20;
    } else if (!TYPES[type]) {
      throw new Error(`pack entry of unknown type ${type}`);
    }
    if (pos >= body.length) throw new Error('the pack is truncated');
    inflatedBytes += size;
    if (inflatedBytes > MAX_INFLATED) throw new NeedsIndexPack('the pack is too large to hold');
    // Bounded by the size the entry declares: a pack cannot inflate past what it admits to.
    const inflated = inflateSync(body.subarray(pos), { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    if (inflated.buffer.length !== size) throw new Error('a pack entry has the wrong size');
    entry.data = inflated.buffer;
    pos += inflated.engine.bytesWritten;
    entries.push(entry);
  }
  if (pos !== body.length) throw new Error('the pack has trailing bytes');
  return entries;
}

/** Applies a git delta: a header of two sizes, then copy-from-base and insert instructions. */
export function applyDelta(base: Buffer, delta: Buffer): Buffer {
  let pos = 0;
  const size = () => {
    let value = 0;
    let byte;
    let shift = 0;
    do {
      byte = delta[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  if (size() !== base.length) throw new Error('a delta does not fit its base');
  const target = size();
  if (target > MAX_INFLATED) throw new NeedsIndexPack('a delta makes an object too large to hold');
  const out = Buffer.allocUnsafe(target);
  let written = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let offset = 0;
      let length = 0;
      for (let bit = 0; bit < 4; bit++) if (op & (1 << bit)) offset += delta[pos++]! * 2 ** (8 * bit);
      for (let bit = 0; bit < 3; bit++) if (op & (16 << bit)) length += delta[pos++]! * 2 ** (8 * bit);
      length ||= 0x10000;
      if (offset + length > base.length || written + length > out.length) throw new Error('a delta copies outside its base');
      written += base.copy(out, written, offset, offset + length);
    } else if (op) {
      if (pos + op > delta.length || written + op > out.length) throw new Error('a delta inserts past its end');
      written += delta.copy(out, written, pos, pos + op);
      pos += op;
    } else {
      throw new Error('a delta has a reserved instruction');
    }
  }
  if (written !== out.length) throw new Error('a delta is short');
  return out;
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
