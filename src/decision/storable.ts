import type { ImageError } from '../catalog/types.ts';
import type { ImageNode } from '../graph/types.ts';

/** A UTF-16 surrogate not part of a pair: YAML's "\udcff" makes one, and a non-UTF-8 name's byte. */
const LONE_SURROGATE = /\p{Cs}/u;

function surrogateIn(text: string): string | null {
  const found = LONE_SURROGATE.exec(text);
  return found ? `U+${found[0].charCodeAt(0).toString(16).toUpperCase()}` : null;
}

/**
 * Why an image's task cannot be stored or sent, or null. A lone surrogate in its arguments,
 * symbol or context folder would be in its task definition and decision record, and
 * PostgreSQL's jsonb (ours, and the Queue's that keeps task definitions) refuses `\udcXX`
 * escapes: taskgraph hashes such an image, but no build of it could ever be created. The
 * message shows the string JSON-escaped, as it holds no lone surrogate itself.
 */
export function unstorableProblem(node: ImageNode): ImageError | null {
  const problem = (what: string, codePoint: string): ImageError => ({
    code: 'bad-argument',
    message: `image ${node.name}: ${what} holds a lone surrogate (${codePoint}), which no task definition can hold (PostgreSQL's jsonb refuses it)`,
  });
  for (const [name, value] of Object.entries(node.args)) {
    const inName = surrogateIn(name);
    if (inName) return problem(`argument ${JSON.stringify(name)}`, inName);
    const inValue = surrogateIn(value);
    if (inValue) return problem(`argument ${JSON.stringify(name)} (${JSON.stringify(value)})`, inValue);
  }
  const inSymbol = node.symbol ? surrogateIn(node.symbol) : null;
  if (inSymbol) return { ...problem(`symbol ${JSON.stringify(node.symbol)}`, inSymbol), code: 'bad-kind-file' };
  const inDir = surrogateIn(node.contextDir);
  if (inDir) return { ...problem(`context folder ${JSON.stringify(node.contextDir)}`, inDir), code: 'bad-kind-file' };
  return null;
}

/** The node as its decision record can hold it: each lone surrogate shown as U+FFFD. */
export function storableNode(node: ImageNode): ImageNode {
  return {
    ...node,
    contextDir: node.contextDir.toWellFormed(),
    args: Object.fromEntries(Object.entries(node.args).map(([k, v]) => [k.toWellFormed(), v.toWellFormed()])),
    ...(node.symbol ? { symbol: node.symbol.toWellFormed() } : {}),
  };
}
