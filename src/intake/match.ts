/** Compares repository names and URLs loosely: case, scheme, `.git` and trailing slashes aside. */
function normalise(value: string): string {
  return value
    .toLowerCase()
    .replace(/^[a-z+]+:\/\//, '')
    .replace(/^[^@/]+@/, '')
    .replace(/:(?=[^/])/, '/')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
}

/** The configured repository that one of `names` (a full name or URL from a payload) designates. */
export function matchRepository<R extends { readonly name: string; readonly url: string; readonly webUrl: string | null }>(repos: Iterable<R>, names: readonly string[]): R | null {
  const wanted = names.map(normalise);
  for (const repo of repos) {
    const own = [repo.name, repo.url, repo.webUrl].filter((v): v is string => v !== null).map(normalise);
    if (wanted.some((w) => own.some((o) => o === w || o.endsWith(`/${w}`)))) return repo;
  }
  return null;
}
