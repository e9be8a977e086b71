import { type PacketReader, packetText } from './pkt-line.ts';

/** The server does not speak protocol v2 (or is a dumb HTTP server): `git fetch` must do it. */
export class ProtocolV2Unsupported extends Error {}

/** The server answered a command with `ERR`: it refuses (an unadvertised commit, say). */
export class ServerRefused extends Error {}

/** A protocol-v2 conversation with a repository's `upload-pack`. */
export interface UploadPackSession {
  readonly capabilities: readonly string[];
  /** Sends one command request; its reply is read from the returned reader, up to its flush. */
  command(request: Buffer): Promise<PacketReader>;
  close(): void;
}

/** v2 capabilities after an optional `# service=` header, or ProtocolV2Unsupported. */
export async function readCapabilities(reader: PacketReader): Promise<string[]> {
  let first = packetText(await reader.next());
  if (first?.startsWith('# service=')) {
    await reader.next(); // its flush
    first = packetText(await reader.next());
  }
  if (first !== 'version 2') throw new ProtocolV2Unsupported('the server does not speak git protocol v2');
  return reader.lines();
}
