import { GitStdinCommand } from './git-process.ts';
import { type ReadBase, writeLooseObjects } from './loose-objects.ts';
import { NeedsIndexPack } from './pack.ts';
import type { RefUpdater } from './ref-updater.ts';
import { DELIM, FLUSH, type PacketReader, packetText, pktLine } from './pkt-line.ts';
import type { LocalUploadPack } from './local-upload-pack.ts';
import { ProtocolV2Unsupported, ServerRefused, type UploadPackSession } from './session.ts';
import { openUploadPack } from './upload-pack.ts';

/** Below this many objects (git's own fetch.unpackLimit) and bytes, a pack is stored loose. */
const LOOSE_LIMIT = 100;
const LOOSE_BYTES = 8 << 20;
/** Haves sent in the one negotiation round: every local tip, up to this many. */
const MAX_HAVES = 256;

export interface NativeFetchOptions {
  gitDir: string;
  url: string;
  /** Remote ref prefixes to list, and where each remote ref is kept locally (null: not kept). */
  prefixes: readonly string[];
  localName: (remoteRef: string) => string | null;
  /** The local refs as they are now: the haves, and what needs no update. */
  localRefs: ReadonlyMap<string, string>;
  has: (oid: string) => Promise<boolean>;
  readObject: ReadBase;
  refUpdater: RefUpdater;
  /** A commit the server may not advertise; asked for after the refs, its refusal ignored. */
  extraWant: string | null;
  signal: AbortSignal;
  /** A local remote's upload-pack started ahead (`GitMirror.warm`). */
  spare?: LocalUploadPack | null;
}

/**
 * `git fetch` for the mirror without its connectivity walk and its five process starts: one
 * protocol-v2 session (ls-refs, then fetch with every local tip as a have and `done`), the
 * pack stored (`storePack`), and the refs moved in one `update-ref` transaction. Skipping
 * the walk is safe here: a missing object fails the read that needs it (a coded error,
 * never a wrong hash). Returns the local refs as they are afterwards.
 */
export async function fetchNative(options: NativeFetchOptions): Promise<Map<string, string>> {
  const session = await openUploadPack(options.url, options.signal, options.spare);
  try {
    const caps = session.capabilities;
    if (!caps.some((c) => c === 'ls-refs' || c.startsWith('ls-refs=')) || !caps.some((c) => c === 'fetch' || c.startsWith('fetch='))) {
      throw new ProtocolV2Unsupported('the server offers no ls-refs or fetch');
    }
    const format = caps.find((c) => c.startsWith('object-format='));
    if (format && format !== 'object-format=sha1') throw new Error(`the repository uses ${format.slice(14)} object ids`);
    const updates = new Map<string, string>();
    for (const { oid, name } of await listRefs(session, options.prefixes)) {
      const local = options.localName(name);
      if (local && options.localRefs.get(local) !== oid) updates.set(local, oid);
    }
    const wanted = [...new Set(updates.values())];
    const missing = (await Promise.all(wanted.map(async (oid) => ((await options.has(oid)) ? null : oid)))).filter((o) => o !== null);
    const haves = [...new Set(options.localRefs.values())].slice(0, MAX_HAVES);
    if (missing.length) await fetchPack(session, missing, haves, options);
    if (options.extraWant && !(await options.has(options.extraWant))) {
      await fetchPack(session, [options.extraWant], haves, options).catch((err: unknown) => {
        if (!(err instanceof ServerRefused)) throw err; // a refusal leaves the revision unknown
      });
    }
    if (updates.size) await options.refUpdater.update(updates, options.signal);
    return new Map([...options.localRefs, ...updates]);
  } finally {
    session.close();
  }
}

async function listRefs(session: UploadPackSession, prefixes: readonly string[]): Promise<{ oid: string; name: string }[]> {
  const reader = await session.command(Buffer.concat([
    pktLine('command=ls-refs\n'), DELIM, ...prefixes.map((p) => pktLine(`ref-prefix ${p}\n`)), FLUSH,
  ]));
  const refs: { oid: string; name: string }[] = [];
  for (const line of await reader.lines()) {
    if (line.startsWith('ERR ')) throw new ServerRefused(`the server refused: ${line.slice(4)}`);
    const [oid, name] = line.split(' ');
    // An unborn HEAD is listed as "unborn HEAD": nothing to fetch.
    if (oid && name && /^[0-9a-f]{40}$/.test(oid)) refs.push({ oid, name });
  }
  return refs;
}

async function fetchPack(session: UploadPackSession, wants: string[], haves: string[], options: NativeFetchOptions): Promise<void> {
  const reader = await session.command(Buffer.concat([
    pktLine('command=fetch\n'), DELIM, pktLine('thin-pack\n'), pktLine('no-progress\n'), pktLine('ofs-delta\n'),
    ...wants.map((oid) => pktLine(`want ${oid}\n`)), ...haves.map((oid) => pktLine(`have ${oid}\n`)), pktLine('done\n'), FLUSH,
  ]));
  for (;;) {
    const packet = await reader.next();
    const text = packetText(packet);
    if (text === 'packfile') break;
    if (text?.startsWith('ERR ')) throw new ServerRefused(`the server refused: ${text.slice(4)}`);
    if (packet.kind === 'flush' || packet.kind === 'response-end') throw new Error('the server sent no pack');
  }
  await storePack(reader, options);
}

/**
 * Demultiplexes the side-band pack into the repository: a small one (the usual push) as loose
 * objects written here, a large one through `git index-pack --fix-thin`.
 */
async function storePack(reader: PacketReader, options: NativeFetchOptions): Promise<void> {
  let small: Buffer[] = [];
  let smallBytes = 0;
  let objects = -1;
  let indexer: GitStdinCommand | null = null;
  const indexPack = () => new GitStdinCommand(options.gitDir, ['index-pack', '--stdin', '--fix-thin'], options.signal);
  try {
    for (let packet = await reader.next(); packet.kind === 'data'; packet = await reader.next()) {
      const band = packet.payload[0];
      const data = packet.payload.subarray(1);
      if (band === 3) throw new Error(`the server failed: ${data.toString('utf8').trim()}`);
      if (band !== 1) continue;
      if (indexer) {
        await indexer.write(data);
        continue;
      }
      small.push(data);
      smallBytes += data.length;
      if (objects < 0 && smallBytes >= 12) {
        small = [Buffer.concat(small)];
        if (small[0]!.toString('latin1', 0, 4) !== 'PACK') throw new Error('the server sent something that is not a pack');
        objects = small[0]!.readUInt32BE(8);
      }
      if (objects >= LOOSE_LIMIT || smallBytes > LOOSE_BYTES) {
        indexer = indexPack();
        for (const chunk of small) await indexer.write(chunk);
        small = [];
      }
    }
    if (!indexer) {
      const pack = Buffer.concat(small);
      try {
        await writeLooseObjects(pack, options.gitDir, options.readObject);
        return;
      } catch (err) {
        if (!(err instanceof NeedsIndexPack)) throw err;
        // A few objects that inflate large (a big file that compresses well), or deltas on
        // deltas on a base outside the pack: git stores those.
        indexer = indexPack();
        await indexer.write(pack);
      }
    }
    await indexer.finish();
  } finally {
    indexer?.discard();
  }
}
