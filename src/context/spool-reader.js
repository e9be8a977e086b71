// Reads included files from git into the spool, on a thread of its own (plain JavaScript:
// workers do not go through tsx). The main thread sends `read` (a repository, and for each
// file an id, its blob id and its tar header made for size 0); this thread runs `git cat-file
// --batch` for them, writes each as a whole tar entry (header, content, padding) at room it
// reserves in the spool, and answers `done` with [id, offset, length, size] quadruples
// (offset -1: not spooled, length -1 then meaning the spool is full; size: the blob's bytes
// read from git, -1 when git had none). Reading here keeps a graph's first reads off the main
// thread, which plans and hashes meanwhile.
//
// git writes into an unlinked temporary file, which this thread follows as it grows, rather
// than into a pipe: through a pipe git waits whenever its 64 KiB are full, so git and this
// thread took turns; into a file git runs ahead.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate, setTimeout } from 'node:timers';
import { parentPort, workerData } from 'node:worker_threads';
import { withSize } from './spool-header.js';

const BLOCK = 512;
const ZEROS = new Uint8Array(BLOCK);
const NOT_SPOOLED = -1;
const FULL = -1;
const FAILED = 0;
/** git's output is read in pieces of this size; spool bytes are gathered and written in as many. */
const PIECE = 1024 * 1024;

/** The spool file, where its free room starts (shared with the main thread), its bound and folder. */
const { fd, end: endBuffer, maxBytes, dir } = workerData;
const end = new BigInt64Array(endBuffer);
const piece = Buffer.allocUnsafe(PIECE);
/**
 * Bytes for the spool, gathered while they follow each other there: small unaligned writes
 * into a new file cost far more than big ones (the page cache fills partial pages). One for all
 * batches: each writes what it gathered before it lets another turn come.
 */
const gathered = Buffer.allocUnsafe(PIECE);

let answers = [];
let answerScheduled = false;

function answer(item, offset, length) {
  if (item.answered) return;
  item.answered = true;
  answers.push(item.id, offset, length, item.read ? item.size : -1);
  if (answerScheduled) return;
  answerScheduled = true;
  // One message per turn of the loop, for all the entries that turn finished.
  setImmediate(() => {
    answerScheduled = false;
    parentPort.postMessage({ op: 'done', items: answers });
    answers = [];
  });
}

/** Room for `size` bytes, or -1 past the bound (the reservation is taken back). */
function reserve(size) {
  const at = Number(Atomics.add(end, 0, BigInt(size)));
  if (at + size <= maxBytes) return at;
  Atomics.sub(end, 0, BigInt(size));
  return -1;
}

function write(bytes, position) {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

/** An unlinked temporary file: its descriptor. */
function scratchFile() {
  const folder = mkdtempSync(join(dir, 'image-decider-git-'));
  const path = join(folder, 'out');
  try {
    return openSync(path, 'w+', 0o600);
  } finally {
    try {
      unlinkSync(path);
    } catch {
      // not made
    }
    rmdirSync(folder);
  }
}

/** One request's `git cat-file --batch`, its output followed through a file as git writes it. */
class Batch {
  constructor(gitDir, ids, oids, templates) {
    this.items = ids.map((id, i) => ({
      id,
      template: templates[i],
      offset: NOT_SPOOLED,
      header: 0,
      size: 0,
      seen: 0,
      full: false,
      ok: true,
      read: false,
      answered: false,
      length: 0,
    }));
    this.next = 0;
    this.state = 'header';
    this.line = [];
    this.item = null;
    this.position = 0;
    this.exited = false;
    this.gatheredAt = -1;
    this.gatheredBytes = 0;
    /** Entries whose bytes are gathered: answered once written. */
    this.written = [];
    try {
      this.out = scratchFile();
    } catch {
      this.out = null;
      for (const item of this.items) answer(item, NOT_SPOOLED, FAILED);
      return;
    }
    const proc = spawn('git', ['--git-dir', gitDir, 'cat-file', '--batch'], { stdio: ['pipe', this.out, 'ignore'] });
    proc.stdin.on('error', () => undefined);
    proc.on('error', () => (this.exited = true));
    proc.on('close', () => (this.exited = true));
    proc.stdin.end(oids.map((oid) => `${oid}\n`).join(''));
    this.follow();
  }

  /** Reads what git has written so far; waits a millisecond when caught up, until git is done. */
  follow() {
    for (;;) {
      let n;
      try {
        n = readSync(this.out, piece, 0, PIECE, this.position);
      } catch {
        n = -1;
      }
      if (n > 0) {
        this.position += n;
        this.consume(piece.subarray(0, n));
        this.flush();
        if (this.next >= this.items.length && this.state === 'header') return this.close();
        continue;
      }
      if (n < 0 || this.exited) return this.close();
      setTimeout(() => this.follow(), 1);
      return;
    }
  }

  /** Spool bytes for `position`: gathered behind the previous ones, or written after them. */
  put(item, bytes, position) {
    if (this.gatheredBytes > 0 && (position !== this.gatheredAt + this.gatheredBytes || this.gatheredBytes + bytes.length > PIECE)) this.flush(false);
    if (bytes.length >= PIECE) {
      write(bytes, position);
      return;
    }
    if (this.gatheredBytes === 0) this.gatheredAt = position;
    gathered.set(bytes, this.gatheredBytes);
    this.gatheredBytes += bytes.length;
  }

  /** Writes what is gathered; then (unless `answer` is false) answers the entries it finished. */
  flush(answerThem = true) {
    if (this.gatheredBytes > 0) {
      try {
        write(gathered.subarray(0, this.gatheredBytes), this.gatheredAt);
      } catch {
        for (const item of this.written) item.ok = false;
        if (this.item) this.item.ok = false;
      }
      this.gatheredBytes = 0;
    }
    if (!answerThem) return;
    for (const item of this.written) answer(item, item.ok ? item.offset : NOT_SPOOLED, item.ok ? item.length : FAILED);
    this.written = [];
  }

  close() {
    this.flush();
    if (this.item && !this.item.answered) answer(this.item, NOT_SPOOLED, FAILED);
    for (let i = this.next; i < this.items.length; i++) answer(this.items[i], NOT_SPOOLED, FAILED);
    this.next = this.items.length;
    if (this.out !== null) closeSync(this.out);
    this.out = null;
  }

  consume(input) {
    let chunk = input;
    while (chunk.length > 0) {
      if (this.state === 'header') {
        const nl = chunk.indexOf(10);
        if (nl < 0) {
          this.line.push(Buffer.from(chunk));
          return;
        }
        this.line.push(chunk.subarray(0, nl));
        chunk = chunk.subarray(nl + 1);
        const line = this.line.length === 1 ? this.line[0].toString('latin1') : Buffer.concat(this.line).toString('latin1');
        this.line = [];
        this.start(line);
        continue;
      }
      if (this.state === 'body') {
        const item = this.item;
        const take = Math.min(item.size - item.seen, chunk.length);
        if (item.offset >= 0 && item.ok) this.put(item, chunk.subarray(0, take), item.offset + item.header + item.seen);
        item.seen += take;
        chunk = chunk.subarray(take);
        if (item.seen === item.size) this.state = 'trailer';
        continue;
      }
      // trailer: the single LF after the content
      chunk = chunk.subarray(1);
      this.state = 'header';
      this.finish(this.item);
      this.item = null;
    }
  }

  /** `<oid> <type> <size>`, or `<oid> missing`. */
  start(line) {
    const item = this.items[this.next++];
    if (!item) return;
    const [, type, sizeText] = line.split(' ');
    if (sizeText === undefined || type !== 'blob') {
      // Missing, or not a blob: the main thread reads it itself and reports what it finds.
      item.read = sizeText !== undefined;
      if (item.read) item.size = Number(sizeText);
      answer(item, NOT_SPOOLED, FAILED);
      if (item.read) {
        this.item = item;
        this.state = item.size > 0 ? 'body' : 'trailer';
      }
      return;
    }
    item.size = Number(sizeText);
    item.read = true;
    const header = withSize(item.template, item.size);
    item.header = header.length;
    const pad = (BLOCK - (item.size % BLOCK)) % BLOCK;
    item.offset = reserve(header.length + item.size + pad);
    if (item.offset < 0) item.full = true;
    else this.put(item, header, item.offset);
    this.item = item;
    this.state = item.size > 0 ? 'body' : 'trailer';
  }

  finish(item) {
    if (item.answered) return;
    if (item.offset < 0 || !item.ok) {
      answer(item, NOT_SPOOLED, item.full ? FULL : FAILED);
      return;
    }
    const pad = (BLOCK - (item.size % BLOCK)) % BLOCK;
    if (pad > 0) this.put(item, ZEROS.subarray(0, pad), item.offset + item.header + item.size);
    item.length = item.header + item.size + pad;
    this.written.push(item);
  }
}

parentPort.on('message', (message) => {
  if (message.op === 'read') new Batch(message.gitDir, message.ids, message.oids, message.templates);
});
