// SHA-256 on a thread of its own (plain JavaScript: workers do not go through tsx).
// Messages arrive in order per port: `slot` shares a buffer once; `update` names a slot, how
// much of it to hash and, optionally, `refs`: triples (position in the slot, offset, length)
// of bytes to hash from the file `fd` (a spool of blobs, read here so that its bytes never
// cross the main thread) before the slot's bytes from that position on. The `ack` frees the
// slot. `digest` or `discard` ends one hash.
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/**
 * File bytes are read into this and hashed from it: small enough to stay in the core's cache
 * between the copy and the hash (reads of a few MiB ran at a fraction of the speed).
 */
const STAGING = 128 * 1024;
/** Slot bytes longer than this are hashed where they are, not copied into the staging buffer. */
const DIRECT = 16 * 1024;

const hashes = new Map();
const slots = new Map();
const staging = Buffer.allocUnsafe(STAGING);
let staged = 0;

function entry(id) {
  let state = hashes.get(id);
  if (!state) hashes.set(id, (state = { hash: createHash('sha256'), error: null }));
  return state;
}

function flush(hash) {
  if (staged > 0) hash.update(staging.subarray(0, staged));
  staged = 0;
}

function inline(hash, bytes, from, to) {
  if (to - from >= DIRECT) {
    flush(hash);
    hash.update(bytes.subarray(from, to));
    return;
  }
  for (let at = from; at < to;) {
    const take = Math.min(to - at, STAGING - staged);
    staging.set(bytes.subarray(at, at + take), staged);
    staged += take;
    at += take;
    if (staged === STAGING) flush(hash);
  }
}

/** Hashes `length` bytes of `fd` from `offset`; answers why not, when the file is shorter. */
function fromFile(hash, fd, offset, length) {
  let at = offset;
  let left = length;
  while (left > 0) {
    const read = readSync(fd, staging, staged, Math.min(left, STAGING - staged), at);
    if (read <= 0) return `the spool ended at ${at} (${left} bytes short)`;
    staged += read;
    at += read;
    left -= read;
    if (staged === STAGING) flush(hash);
  }
  return null;
}

/** Hashes one message's bytes; answers why not, when a referenced file is short. */
function update(state, message) {
  const bytes = slots.get(message.slot);
  const { refs, length } = message;
  if (!refs) {
    state.hash.update(bytes.subarray(0, length));
    return null;
  }
  let position = 0;
  for (let k = 0; k < refs.length; k += 3) {
    inline(state.hash, bytes, position, refs[k]);
    position = refs[k];
    const short = fromFile(state.hash, message.fd, refs[k + 1], refs[k + 2]);
    if (short) return short;
  }
  inline(state.hash, bytes, position, length);
  flush(state.hash);
  return null;
}

parentPort.on('message', (message) => {
  const { op, id } = message;
  if (op === 'slot') {
    slots.set(message.slot, new Uint8Array(message.buffer));
  } else if (op === 'update') {
    const state = entry(id);
    if (!state.error) {
      try {
        state.error = update(state, message);
      } catch (err) {
        state.error = err instanceof Error ? err.message : String(err); // readSync's own errors
      }
      if (state.error) staged = 0;
    }
    parentPort.postMessage({ op: 'ack', id, slot: message.slot });
  } else if (op === 'digest') {
    const state = entry(id);
    hashes.delete(id);
    if (state.error) parentPort.postMessage({ op: 'digest', id, hex: null, error: state.error });
    else parentPort.postMessage({ op: 'digest', id, hex: state.hash.digest('hex') });
  } else if (op === 'discard') {
    hashes.delete(id);
    parentPort.postMessage({ op: 'digest', id, hex: null });
  }
});
