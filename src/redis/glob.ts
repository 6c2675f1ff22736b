/**
 * Redis glob patterns (SCAN MATCH syntax: `*`, `?`, `[…]`, `\` escapes).
 */

/** Escapes Redis glob characters (`* ? [ ] \`) so `text` matches itself in SCAN MATCH. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** True when `text` has an unescaped glob character (a pattern rather than a name). */
export function isGlob(text: string): boolean {
  return /(?<!\\)[*?[]/.test(text);
}

/** `text` with its glob escapes removed (`lit\*` → `lit*`): the name a non-pattern stands for. */
export function unescapeGlob(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}
