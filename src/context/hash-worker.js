// SHA-256 on a thread of its own (plain JavaScript: workers do not go through tsx).
// Messages arrive in order per port: `slot` shares a buffer once, `update` names a slot and
// how much of it to hash (the `ack` frees it), `digest` or `discard` ends one hash.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const hashes = new Map();
const slots = new Map();

parentPort.on('message', (message) => {
  const { op, id } = message;
  if (op === 'slot') {
    slots.set(message.slot, new Uint8Array(message.buffer));
  } else if (op === 'update') {
    let hash = hashes.get(id);
    if (!hash) hashes.set(id, (hash = createHash('sha256')));
    hash.update(slots.get(message.slot).subarray(0, message.length));
    parentPort.postMessage({ op: 'ack', id, slot: message.slot });
  } else if (op === 'digest') {
    const hash = hashes.get(id) ?? createHash('sha256');
    hashes.delete(id);
    parentPort.postMessage({ op: 'digest', id, hex: hash.digest('hex') });
  } else if (op === 'discard') {
    hashes.delete(id);
    parentPort.postMessage({ op: 'digest', id, hex: null });
  }
});
