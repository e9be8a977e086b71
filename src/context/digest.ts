import { createHash } from 'node:crypto';
import { pyJsonDumps } from './py-compat.ts';

/** taskgraph's current default builder image; it is part of every digest. */
export const DEFAULT_BUILDER_IMAGE = 'mozillareleases/image_builder:6.2.0@sha256:f7df722770d6caadea79b2de458e072d8b3d93e59675b34dffb32c3e7e30f5b9';

export const CACHE_TYPE = 'docker-images.v2';

export interface DigestInput {
  readonly contextHash: string;
  readonly args: Readonly<Record<string, string>>;
  readonly builderImage: string;
  readonly parent: { readonly name: string; readonly digest: string } | null;
}

/** taskgraph's `cached_tasks` digest of a docker-image task. */
export function imageDigest(input: DigestInput): string {
  const lines = [input.contextHash, pyJsonDumps(input.args), `image-builder-image:${input.builderImage}`];
  if (input.parent) lines.push(`${CACHE_TYPE}/${input.parent.name}/${input.parent.digest}`);
  lines.push('True');
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest('hex');
}
