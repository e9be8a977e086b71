// SHA-256 on a thread of its own (plain JavaScript: workers do not go through tsx).
// Messages arrive in order per port: `update` carries a transferred buffer, which goes back
// in the `ack` for reuse; `digest` ends one hash.
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

const hashes = new Map();

parentPort.on('message', (message) => {
  const { op, id } = message;
  if (op === 'update') {
    let hash = hashes.get(id);
    if (!hash) hashes.set(id, (hash = createHash('sha256')));
    hash.update(new Uint8Array(message.buffer, 0, message.length));
    parentPort.postMessage({ op: 'ack', id, buffer: message.buffer }, [message.buffer]);
  } else if (op === 'digest') {
    const hash = hashes.get(id) ?? createHash('sha256');
    hashes.delete(id);
    parentPort.postMessage({ op: 'digest', id, hex: hash.digest('hex') });
  } else if (op === 'discard') {
    hashes.delete(id);
    parentPort.postMessage({ op: 'digest', id, hex: null });
  }
});
