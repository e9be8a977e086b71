import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';

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
export const MAX_INFLATED = 64 << 20;

export const TYPES: Record<number, string> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
export const OFS_DELTA = 6;
export const REF_DELTA = 7;

export interface PackEntry {
  offset: number;
  type: number;
  /** Inflated content: the object, or a delta against its base. */
  data: Buffer;
  baseOffset?: number;
  baseOid?: string;
}

/** The entries of a pack (gitformat-pack(5)), inflated, after its checksum is verified. */
export function parsePack(pack: Buffer): PackEntry[] {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new Error('not a pack');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Error(`pack version ${version}`);
  const body = pack.subarray(0, pack.length - 20);
  if (!createHash('sha1').update(body).digest().equals(pack.subarray(pack.length - 20))) throw new Error('the pack is corrupt (checksum)');
  const entries: PackEntry[] = [];
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
    const entry: PackEntry = { offset, type, data: Buffer.alloc(0) };
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
