import { DeciderError } from '../errors.ts';
import { argPattern, pyReplacement, pyStrip } from './py-compat.ts';

export const RUN_TASK_SNIPPET = [
  'COPY run-task/run-task /usr/local/bin/run-task\n',
  'COPY run-task/fetch-content /usr/local/bin/fetch-content\n',
  'COPY run-task/robustcheckout.py /usr/local/mercurial/robustcheckout.py\n',
  'COPY run-task/hgrc /etc/mercurial/hgrc.d/mozilla.rc\n',
];
export const RUN_TASK_FILES = ['run-task', 'fetch-content', 'robustcheckout.py', 'hgrc'] as const;
/** `# %include` lines a Dockerfile may hold by default (`limits.includesPerDockerfile`). */
export const DEFAULT_MAX_INCLUDES = 256;

export interface Include {
  /** The path exactly as written (after argument substitution), relative to the repository root. */
  readonly path: string;
  readonly line: number;
}

export interface ProcessedDockerfile {
  /** The Dockerfile as it enters the context (UTF-8). */
  readonly content: Buffer;
  readonly includes: readonly Include[];
  readonly runTask: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Splits like Python's universal-newline text mode: CRLF and CR become LF, endings kept. */
function pythonLines(text: string): string[] {
  const normalised = text.replace(/\r\n?/g, '\n');
  const lines = normalised.split(/(?<=\n)/);
  return lines.at(-1) === '' ? lines.slice(0, -1) : lines;
}

/**
 * Applies taskgraph's Dockerfile directives: `# %ARG` (declare and substitute),
 * `# %include` (list an extra path) and `# %include-run-task`. More than `maxIncludes`
 * includes is `limit-exceeded`, raised while parsing: none of them has been walked yet.
 */
export function processDockerfile(raw: Buffer, args: Readonly<Record<string, string>>, where = 'Dockerfile', maxIncludes = DEFAULT_MAX_INCLUDES): ProcessedDockerfile {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw new DeciderError('dockerfile-not-utf8', `${where} is not valid UTF-8`);
  }
  const replacements: { pattern: RegExp; replace: (match: string) => string }[] = [];
  const out: string[] = [];
  const includes: Include[] = [];
  let runTask = false;
  pythonLines(text).forEach((original, index) => {
    const lineNo = index + 1;
    if (original.startsWith('# %ARG')) {
      const name = pyStrip(original.slice('# %ARG '.length));
      if (!Object.hasOwn(args, name)) {
        throw new DeciderError('missing-argument', `${where}:${lineNo}: missing argument: ${name}`);
      }
      let replace: (match: string) => string;
      try {
        replace = pyReplacement(args[name]!);
      } catch (err) {
        // Python's words for the template, with the argument they are about.
        throw new DeciderError('bad-argument', `argument ${name}: ${(err as Error).message}`, { cause: err });
      }
      replacements.push({ pattern: argPattern(name), replace });
      return;
    }
    let line = original;
    for (const { pattern, replace } of replacements) line = line.replace(pattern, replace);
    out.push(line);
    if (line.startsWith('# %include') && pyStrip(line) === '# %include-run-task') {
      runTask = true;
      out.push(...RUN_TASK_SNIPPET);
    } else if (line.startsWith('# %include ')) {
      if (includes.length === maxIncludes) {
        throw new DeciderError(
          'limit-exceeded',
          `${where}:${lineNo}: # %include number ${maxIncludes + 1}, over the limit of ${maxIncludes} includes per Dockerfile (limits.includesPerDockerfile)`,
        );
      }
      includes.push({ path: pyStrip(line.slice('# %include '.length)), line: lineNo });
    }
  });
  return { content: Buffer.from(out.join(''), 'utf8'), includes, runTask };
}
