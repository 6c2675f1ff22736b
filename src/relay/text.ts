/**
 * Byte-exact UTF-8 helpers and secret redaction for the relay.
 *
 * Robot size limits are in UTF-8 bytes (DingTalk custom robot: markdown text
 * ≤ 20000 bytes; WeCom group robot: markdown content ≤ 4096 bytes), so every
 * cut here counts bytes, never UTF-16 code units, and never splits a character.
 */

/** UTF-8 length of `text` in bytes. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * The longest prefix of `text` whose UTF-8 encoding is at most `maxBytes`
 * bytes, cut on a character boundary (a 3-byte Chinese character or a 4-byte
 * emoji is kept whole or dropped whole).
 * @param maxBytes byte budget; ≤ 0 gives ''.
 */
export function cutUtf8(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  if (text.length * 3 <= maxBytes) return text; // fast path: no UTF-16 unit needs more than 3 bytes
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let cut = maxBytes;
  // back off continuation bytes (10xxxxxx) so the cut lands on a character start
  while (cut > 0 && ((buf[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return buf.subarray(0, cut).toString('utf8');
}

/**
 * Shortens `text` to at most `maxBytes` UTF-8 bytes, ending with `…` when cut.
 * @param maxBytes byte budget including the 3-byte ellipsis.
 */
export function ellipsizeUtf8(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  return `${cutUtf8(text, maxBytes - 3)}…`;
}

/**
 * Replaces every occurrence of each secret (robot URL, its token/key query
 * value, signing secret) in `text` with `<secret>`. Secrets shorter than 4
 * characters are ignored (they would mangle ordinary words).
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  const sorted = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  for (const s of sorted) out = out.split(s).join('<secret>');
  return out;
}

/**
 * The secret parts of a robot URL: the URL itself and every query parameter
 * value (DingTalk `access_token`, WeCom `key`), plus their URL-encoded forms.
 */
export function urlSecrets(url: string): string[] {
  const out = [url];
  try {
    const u = new URL(url);
    for (const v of u.searchParams.values()) out.push(v, encodeURIComponent(v));
    // raw (undecoded) values too: '+' in a query is a space once decoded
    for (const part of u.search.slice(1).split('&')) {
      const raw = part.slice(part.indexOf('=') + 1);
      out.push(raw, encodeURIComponent(raw));
    }
    out.push(u.search);
  } catch {
    // not a URL: the whole string is the secret
  }
  return out.filter((s) => s.length > 0);
}

/**
 * Markup characters of DingTalk / WeCom markdown (links, images, HTML such
 * as `<font>` and WeCom's `<@userid>` mention, emphasis, code, tables,
 * escapes) → look-alike characters no renderer treats as markup. Used on
 * everything an alert brings (labels, annotations): a value can then not
 * open a link, mention someone, or fake a heading of the template's own.
 * Backslash escapes are not used because the robots' renderers do not
 * document them.
 */
const INERT: Readonly<Record<string, string>> = {
  '[': '［',
  ']': '］',
  '<': '＜',
  '>': '＞',
  '*': '＊',
  '`': '｀',
  '|': '｜',
  '\\': '＼',
};

/**
 * Makes alert-supplied text inert in a markdown message: line breaks (which
 * would start headings, quotes or list items) become spaces, other control
 * characters are dropped, and markup characters are replaced by look-alikes
 * (see {@link INERT}). The result can be longer in bytes (3 per replaced
 * character); callers cap after escaping.
 */
export function inertMarkdown(text: string): string {
  return text
    .replace(/\r\n|[\r\n\u2028\u2029\u0085]/g, ' ')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/[[\]<>*`|\\]/g, (c) => INERT[c] ?? c);
}

/**
 * A URL safe to put in a markdown link target: http(s) only (no
 * `javascript:` or `dingtalk:` from a payload), and without characters that
 * would end the link early or open markup (`(`, `)`, `<`, `>`, spaces and
 * quotes are percent-encoded). '' for anything else.
 */
export function linkTarget(url: string | undefined): string {
  if (!url) return '';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return '';
  // credentials never go into a chat message; the host (IPv6 brackets included) is already canonical
  // a bare origin stays as written (the URL parser would add a '/')
  const path = u.pathname === '/' && !u.search && !u.hash && !/\/$/.test(url) ? '' : u.pathname;
  const rest = `${path}${u.search}${u.hash}`.replace(/[()<>"' [\]*`|\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return `${u.protocol}//${u.host}${rest}`;
}
