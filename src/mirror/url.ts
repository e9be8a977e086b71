/**
 * `text` (a URL, or a message naming URLs) with the userinfo of every URL in it taken out:
 * `https://user:token@host/repo` becomes `https://host/repo`.
 */
export function withoutUserinfo(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1');
}
